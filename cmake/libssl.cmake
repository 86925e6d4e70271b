# libssl for dcgw: Debian's library (libssl-dev), or libssl built from Debian's source package
# of the installed version with dcgw's patch (third_party/openssl/README.md: the DTLS handshake
# buffer is not kept for the life of a connection), static, beside the system's libcrypto.so.3.
#
#   -DDCGW_LIBSSL=auto     (default) patched when the source package can be had, else the
#                          system library, with a warning: the tree builds and passes either
#                          way, the system library keeps 21.8 KiB more per DTLS connection
#   -DDCGW_LIBSSL=patched  patched or fail
#   -DDCGW_LIBSSL=system   Debian's libssl as installed
#   -DDCGW_LIBSSL_SOURCE=DIR  where the source package files are kept (offline builds: put
#                          them there); missing ones are fetched into it with apt
#                          (tools/debian-source.sh). Default: ~/.cache/dcgw/openssl.
#
# The version is the installed libssl-dev's, so that a security update of the system moves it
# too. When the archive no longer has that version (a newer security update replaced it), the
# newest 3.0 one it has is taken, with a warning: the installed libssl is then out of date.
# apt checks the .dsc against the signed Sources index when it fetches it; here the other files
# are checked against the .dsc's SHA-256 sums. Debian's quilt series is applied, then ours;
# libssl alone is built (libcrypto is the system's). Sets DCGW_LIBSSL_TARGET (what to link
# before libcrypto), DCGW_LIBSSL_KIND ("patched" or "system") and, when patched,
# DCGW_LIBSSL_VERSION (the Debian version built).
set(DCGW_LIBSSL "auto" CACHE STRING "libssl: auto, patched or system")
set_property(CACHE DCGW_LIBSSL PROPERTY STRINGS auto patched system)
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)
dcgw_debian_cache_dir(openssl _ls_cache)
set(DCGW_LIBSSL_SOURCE "${_ls_cache}" CACHE PATH
    "directory holding openssl's Debian source package files (fetched there when missing)")
if(DCGW_LIBSSL_SOURCE STREQUAL "")
    set(DCGW_LIBSSL_SOURCE "${_ls_cache}" CACHE PATH "" FORCE)
endif()
file(GLOB _ls_patches "${CMAKE_CURRENT_SOURCE_DIR}/third_party/openssl/*.patch")
list(SORT _ls_patches)
set(_ls_dir "${CMAKE_BINARY_DIR}/openssl")
set(_ls_stamp "${_ls_dir}/patched.stamp")

# The cached version to build for installed version `installed`: the same, else the newest
# newer one of its series (3.0.x). Sets out to it or "".
function(_ls_cached installed series out)
    set(best "")
    file(GLOB dscs "${DCGW_LIBSSL_SOURCE}/openssl_*.dsc")
    foreach(d ${dscs})
        get_filename_component(n "${d}" NAME)
        string(REGEX REPLACE "^openssl_(.*)\\.dsc$" "\\1" v "${n}")
        if(v STREQUAL installed)
            set(${out} "${v}" PARENT_SCOPE)
            return()
        endif()
        string(FIND "${v}" "${series}" at)
        if(NOT at EQUAL 0)
            continue()
        endif()
        execute_process(COMMAND dpkg --compare-versions "${v}" gt "${installed}"
                        RESULT_VARIABLE newer)
        if(newer EQUAL 0)
            if(best STREQUAL "")
                set(best "${v}")
            else()
                execute_process(COMMAND dpkg --compare-versions "${v}" gt "${best}"
                                RESULT_VARIABLE better)
                if(better EQUAL 0)
                    set(best "${v}")
                endif()
            endif()
        endif()
    endforeach()
    set(${out} "${best}" PARENT_SCOPE)
endfunction()

# Checks the files the .dsc of version v lists against its SHA-256 sums (a wrong or missing
# one fails). Sets orig and debian to their paths, ok to TRUE or FALSE and why.
function(_ls_check v orig debian ok why)
    set(${ok} FALSE PARENT_SCOPE)
    file(STRINGS "${DCGW_LIBSSL_SOURCE}/openssl_${v}.dsc" lines)
    set(in_sums FALSE)
    set(n 0)
    foreach(l ${lines})
        if(l MATCHES "^Checksums-Sha256:")
            set(in_sums TRUE)
        elseif(in_sums AND l MATCHES "^ ([0-9a-f]+) [0-9]+ (.+)$")
            set(sum "${CMAKE_MATCH_1}")
            set(f "${CMAKE_MATCH_2}")
            set(p "${DCGW_LIBSSL_SOURCE}/${f}")
            if(NOT EXISTS "${p}")
                set(${why} "${p} missing" PARENT_SCOPE)
                return()
            endif()
            file(SHA256 "${p}" have)
            if(NOT have STREQUAL sum)
                file(REMOVE "${p}")
                set(${why} "${p} has SHA-256 ${have}, the .dsc says ${sum}: removed" PARENT_SCOPE)
                return()
            endif()
            math(EXPR n "${n} + 1")
            if(f MATCHES "\\.orig\\.tar\\.[a-z0-9]+$")
                set(${orig} "${p}" PARENT_SCOPE)
            elseif(f MATCHES "\\.debian\\.tar\\.[a-z0-9]+$")
                set(${debian} "${p}" PARENT_SCOPE)
            endif()
        elseif(in_sums)
            set(in_sums FALSE)
        endif()
    endforeach()
    if(n EQUAL 0)
        set(${why} "no Checksums-Sha256 in openssl_${v}.dsc" PARENT_SCOPE)
        return()
    endif()
    set(${ok} TRUE PARENT_SCOPE)
endfunction()

# Finds or fetches the source, checks, unpacks and patches it. Sets ok, why, version (Debian's)
# and src (the unpacked tree).
function(_ls_prepare ok why version src)
    set(${ok} FALSE PARENT_SCOPE)
    execute_process(COMMAND dpkg-query -W -f=\${Version} libssl-dev
                    RESULT_VARIABLE rc OUTPUT_VARIABLE installed ERROR_QUIET)
    if(NOT rc EQUAL 0 OR NOT installed MATCHES "^([0-9]+\\.[0-9]+\\.)[0-9]+-")
        set(${why} "no installed libssl-dev version (dpkg-query: ${installed})" PARENT_SCOPE)
        return()
    endif()
    set(series "${CMAKE_MATCH_1}")
    _ls_cached("${installed}" "${series}" v)
    if(v STREQUAL "")
        dcgw_debian_fetch(openssl "${installed}" "${DCGW_LIBSSL_SOURCE}" "${series}" v err)
        if(v STREQUAL "")
            set(${why} "${err}" PARENT_SCOPE)
            return()
        endif()
    endif()
    _ls_check("${v}" orig debian res err)
    if(NOT res)
        # a cached version with a file missing or wrong: fetched again, once
        message(STATUS "libssl: ${err}")
        dcgw_debian_fetch(openssl "${v}" "${DCGW_LIBSSL_SOURCE}" "" got err)
        if(NOT got STREQUAL "")
            _ls_check("${v}" orig debian res err)
        endif()
        if(NOT res)
            set(${why} "${err}" PARENT_SCOPE)
            return()
        endif()
    endif()
    string(REGEX REPLACE "-[^-]*$" "" upstream "${v}")
    set(s "${_ls_dir}/openssl-${upstream}")
    dcgw_debian_unpack("${s}" "${orig}" "${debian}" "${_ls_patches}" res err)
    set(${ok} ${res} PARENT_SCOPE)
    set(${why} "${err}" PARENT_SCOPE)
    set(${version} "${v}" PARENT_SCOPE)
    set(${src} "${s}" PARENT_SCOPE)
endfunction()

set(DCGW_LIBSSL_KIND "system")
if(NOT DCGW_LIBSSL MATCHES "^(auto|patched|system)$")
    message(FATAL_ERROR "DCGW_LIBSSL=${DCGW_LIBSSL}: want auto, patched or system")
endif()
if(NOT DCGW_LIBSSL STREQUAL "system")
    # Prepared once per build tree: again when a patch, this file or the installed version
    # changes (the stamp holds the version built and its tree).
    set(_ls_ok FALSE)
    execute_process(COMMAND dpkg-query -W -f=\${Version} libssl-dev
                    OUTPUT_VARIABLE _ls_installed ERROR_QUIET)
    dcgw_debian_fresh("${_ls_stamp}" "${_ls_dir}"
                      "${_ls_patches};${CMAKE_CURRENT_LIST_FILE};${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake"
                      _ls_fresh)
    if(_ls_fresh)
        file(STRINGS "${_ls_stamp}" _ls_was)
        list(LENGTH _ls_was _ls_n)
        if(_ls_n EQUAL 3)
            list(GET _ls_was 0 _ls_for)
            list(GET _ls_was 1 DCGW_LIBSSL_VERSION)
            list(GET _ls_was 2 _ls_src)
        endif()
        if(_ls_n EQUAL 3 AND _ls_for STREQUAL _ls_installed AND EXISTS "${_ls_src}")
            set(_ls_ok TRUE)
        endif()
    endif()
    if(NOT _ls_ok)
        file(REMOVE "${_ls_stamp}")
        # and what was built from the old source: the external project's stamps would
        # otherwise keep its steps from running again (a new patch left unbuilt)
        file(REMOVE_RECURSE "${_ls_dir}" "${CMAKE_BINARY_DIR}/libssl_patched-prefix")
        _ls_prepare(_ls_ok _ls_why DCGW_LIBSSL_VERSION _ls_src)
        if(_ls_ok)
            file(WRITE "${_ls_stamp}" "${_ls_installed}\n${DCGW_LIBSSL_VERSION}\n${_ls_src}\n")
        endif()
    endif()
    if(_ls_ok)
        set(DCGW_LIBSSL_KIND "patched")
        if(NOT DCGW_LIBSSL_VERSION STREQUAL _ls_installed)
            message(WARNING "libssl: Debian's archive no longer has openssl ${_ls_installed}, "
                            "the installed libssl-dev's version; libssl is built from its newer "
                            "${DCGW_LIBSSL_VERSION}, beside the installed libcrypto (dcgwd warns "
                            "at start). Upgrade the system's libssl-dev and libssl3.")
        endif()
    elseif(DCGW_LIBSSL STREQUAL "patched")
        message(FATAL_ERROR "DCGW_LIBSSL=patched: ${_ls_why}")
    else()
        message(WARNING "libssl: using the system library, unpatched: ${_ls_why}. It works; each "
                        "DTLS connection then keeps its 21.8 KiB handshake buffer "
                        "(third_party/openssl/README.md).")
    endif()
endif()

if(DCGW_LIBSSL_KIND STREQUAL "patched")
    include(ExternalProject)
    include(CheckCCompilerFlag)
    set(_ls_bin "${_ls_dir}/build")
    set(_ls_lib "${_ls_bin}/libssl-dcgw.a")
    set(_ls_extra crypto/libcrypto-lib-packet.o ssl/libdefault-lib-s3_cbc.o
                  ssl/record/libcommon-lib-tls_pad.o)
    find_program(MAKE_PROGRAM make REQUIRED)
    set(_ls_make ${MAKE_PROGRAM}) # one job: about 20 s of CPU, beside the build's other jobs
    # As debian/rules configures it (its options, its target for this architecture: the
    # default security level 2), static; CFLAGS and CPPFLAGS are those dpkg-buildflags gives
    # Debian's build, and -fPIC for dcgw's position-independent programs. Sanitized builds
    # instrument libssl with AddressSanitizer too. A compiler without a flag of Debian's
    # target (clang 14: -fzero-call-used-regs) gets the target without it.
    execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _ls_arch
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(_ls_target "debian-${_ls_arch}")
    check_c_compiler_flag(-fzero-call-used-regs=used-gpr DCGW_CC_ZERO_CALL_USED_REGS)
    set(_ls_config)
    if(NOT DCGW_CC_ZERO_CALL_USED_REGS)
        file(WRITE "${_ls_dir}/dcgw.conf"
             "my %targets = ( \"dcgw-${_ls_target}\" => { inherit_from => [ \"${_ls_target}\" ],\n"
             "    cflags => sub { join(' ', grep { \$_ ne '-fzero-call-used-regs=used-gpr' }\n"
             "                              split(' ', join(' ', @_))) } } );\n")
        set(_ls_config "--config=${_ls_dir}/dcgw.conf")
        set(_ls_target "dcgw-${_ls_target}")
    endif()
    set(_ls_cflags "-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC")
    if(DCGW_SANITIZE OR DCGW_FUZZ)
        string(APPEND _ls_cflags " -fsanitize=address -fno-omit-frame-pointer")
    endif()
    find_program(PERL_PROGRAM perl REQUIRED)
    ExternalProject_Add(libssl_patched
        SOURCE_DIR "${_ls_src}"
        BINARY_DIR "${_ls_bin}"
        CONFIGURE_COMMAND ${CMAKE_COMMAND} -E env CC=${CMAKE_C_COMPILER} "CFLAGS=${_ls_cflags}"
                          "CPPFLAGS=-Wdate-time -D_FORTIFY_SOURCE=2"
                          ${PERL_PROGRAM} "${_ls_src}/Configure" ${_ls_config} no-shared
                          --prefix=/usr --openssldir=/usr/lib/ssl no-idea no-mdc2 no-rc5 no-zlib
                          no-ssl3 no-ssl3-method enable-rfc3779 enable-cms no-capieng no-rdrand
                          enable-ec_nistp_64_gcc_128 ${_ls_target}
        # The generated headers first (libssl.a alone does not ask for them), then libssl.a
        # and the objects of libcrypto's that a shared libssl carries itself (packet.c,
        # s3_cbc.c, tls_pad.c: libcrypto.so does not export them), in one archive; libcrypto
        # itself is not built. The archive is replaced only when it changed (no relink).
        BUILD_COMMAND ${_ls_make} build_generated
        COMMAND ${_ls_make} libssl.a ${_ls_extra}
        COMMAND ${CMAKE_COMMAND} -E copy libssl.a libssl-dcgw.tmp
        COMMAND ${CMAKE_AR} qD libssl-dcgw.tmp ${_ls_extra}
        COMMAND ${CMAKE_RANLIB} -D libssl-dcgw.tmp
        COMMAND ${CMAKE_COMMAND} -E copy_if_different libssl-dcgw.tmp libssl-dcgw.a
        # Always asked (a no-op when nothing changed): a changed patch re-extracts the source
        # at configure time, and its make must see the new files.
        BUILD_ALWAYS ON
        INSTALL_COMMAND ""
        BUILD_BYPRODUCTS "${_ls_lib}"
        LOG_CONFIGURE ON LOG_BUILD ON LOG_OUTPUT_ON_FAILURE ON)
    add_library(dcgw_libssl STATIC IMPORTED GLOBAL)
    set_target_properties(dcgw_libssl PROPERTIES IMPORTED_LOCATION "${_ls_lib}")
    add_dependencies(dcgw_libssl libssl_patched)
    # The version of the headers libssl was built with, for the check at start (dcgwd warns
    # when the runtime libcrypto differs): VERSION.dat's numbers as OPENSSL_VERSION_NUMBER.
    file(STRINGS "${_ls_src}/VERSION.dat" _ls_vdat REGEX "^(MAJOR|MINOR|PATCH)=")
    foreach(l ${_ls_vdat})
        string(REGEX MATCH "^([A-Z]+)=([0-9]+)" _ "${l}")
        set(_ls_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
    endforeach()
    math(EXPR _ls_num "(${_ls_MAJOR} << 28) | (${_ls_MINOR} << 20) | (${_ls_PATCH} << 4)"
         OUTPUT_FORMAT HEXADECIMAL)
    set(DCGW_LIBSSL_VERSION_NUMBER "${_ls_num}L")
    # Whole: every program exports all of libssl's functions (the linker exports a program's
    # symbols that a library in the link also defines), so that libcurl (OpenSSL flavour),
    # which loads the system's libssl.so.3, calls this libssl too: one libssl in use per
    # process (tests/integration/test_libssl_one_copy.sh). Only the needed members would
    # leave some of libcurl's calls to libssl.so.3, on objects this libssl made.
    set(DCGW_LIBSSL_TARGET "$<LINK_LIBRARY:WHOLE_ARCHIVE,dcgw_libssl>")
    message(STATUS "libssl: Debian ${DCGW_LIBSSL_VERSION} with dcgw's patch, static (${_ls_src})")
else()
    # CMakeLists.txt finds it with pkg-config (where tools/deps-guard.py sees the call)
    set(DCGW_LIBSSL_TARGET PkgConfig::LIBSSL)
    message(STATUS "libssl: the system library (unpatched)")
endif()
