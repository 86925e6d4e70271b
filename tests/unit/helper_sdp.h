/* Shared by the SDP tests (test_sdp_*.c): fixtures of tests/data/sdp parsed, addresses
 * compared with what a fixture says, and the suite runner. Functions fail the running
 * test on error. */
#ifndef DCGW_TEST_SDP_H
#define DCGW_TEST_SDP_H

#include <check.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dcgw/sdp/sdp.h"
#include "dcgw/sdp/sdp_match.h"

/* Parses <dir>/sdp/<name> (must succeed); *text gets the file's text. The caller frees
 * both. sdph_parse_file reads tests/data (DCGW_TEST_DATA, defined for test programs). */
struct dcgw_sdp *sdph_parse_file_in(const char *dir, const char *name, char **text);
#define sdph_parse_file(name, text) sdph_parse_file_in(DCGW_TEST_DATA, name, text)
/* ss is ip (numeric, v4 or v6) and, unless port < 0, port. */
void sdph_assert_addr(const struct sockaddr_storage *ss, const char *ip, int port);
/* dcgw's side of an answer to leg `leg` of match m (its data channel's transport): ufrag
 * "dcgw", 127.0.0.1:4000, one SHA-256 fingerprint, a=setup answering the offer's, the
 * leg's audio/video from the match. */
void sdph_local_answer(struct dcgw_sdp_local *l, const struct dcgw_sdp *offer,
                       const struct dcgw_sdp_match *m, int leg);
/* One test case of suite "sdp": tests in order, with loop (if not NULL) run for
 * _i in [0, loop_end) inserted before tests[loop_pos]. */
struct sdph_tcase {
    const char *name;
    const TTest *tests[10]; /* NULL-terminated unless full */
    const TTest *loop;
    int loop_end;
    size_t loop_pos;
};
/* Runs suite "sdp" with the test case tc; returns main's exit status. */
int sdph_run(const struct sdph_tcase *tc);

#endif
