# dcgw-bench figure: throughput and round-trip latency by message size, per path.
# Usage (dcgw-bench -p FILE.png runs it): gnuplot -e "datafile='F.dat'; outfile='F.png'" plot.gp
# Columns of the data file: size, MB/s direct gateway janus, RTT p50 direct gateway janus,
# RTT p99 direct gateway janus (NaN where a path was not measured).
if (!exists("datafile")) datafile = 'bench.dat'
if (!exists("outfile")) outfile = 'bench.png'
set terminal pngcairo size 1200,520 font ",10" noenhanced
set output outfile
set datafile missing "NaN"
set datafile separator "\t"
set logscale x 2
set format x "%.0b %BB"
set grid
set key top left
set multiplot layout 1,2 title "dcgw-bench: one session, one channel, binary messages"
set title "throughput"
set xlabel "message size"
set ylabel "MB/s (1 MB = 10^6 bytes)"
plot datafile using 1:2 with linespoints title "direct", \
     '' using 1:3 with linespoints title "dcgw (bridged)", \
     '' using 1:4 with linespoints title "Janus echotest"
set title "ping-pong round trip, idle"
set ylabel "microseconds"
set logscale y 10
plot datafile using 1:5 with linespoints title "direct p50", \
     '' using 1:6 with linespoints title "dcgw p50", \
     '' using 1:7 with linespoints title "Janus p50", \
     '' using 1:8 with linespoints dt 2 title "direct p99", \
     '' using 1:9 with linespoints dt 2 title "dcgw p99", \
     '' using 1:10 with linespoints dt 2 title "Janus p99"
unset multiplot
