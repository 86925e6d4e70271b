# usrsctp for dcgw: Debian's library (libusrsctp-dev), or Debian's source package of the same
# version with dcgw's patches (third_party/usrsctp/README.md: streams made when first used,
# callouts in a wheel, one thread without locks, more than 40,000 associations), built in
# the build tree and linked statically.
#
#   -DDCGW_USRSCTP=auto     (default) patched when the source package can be had, else the
#                           system library, with a warning: the tree builds and passes
#                           either way, the system library is the slower path
#   -DDCGW_USRSCTP=patched  patched or fail
#   -DDCGW_USRSCTP=system   Debian's libusrsctp as installed
#   -DDCGW_USRSCTP_SOURCE=DIR  where the three files of the source package are kept (offline
#                           builds: put them there); missing ones are fetched into it with
#                           apt (tools/debian-source.sh). Default: ~/.cache/dcgw/usrsctp,
#                           shared by every build tree.
#
# The files are checked against the SHA-256 sums below (those of Debian's .dsc), unpacked with
# CMake's own archive support, Debian's quilt series applied, then ours (patch -p1). Sets
# DCGW_USRSCTP_TARGET (the target to link) and DCGW_USRSCTP_KIND ("patched" or "system"; the
# caller finds the system library with pkg-config as PkgConfig::USRSCTP).
set(DCGW_USRSCTP "auto" CACHE STRING "usrsctp: auto, patched or system")
set_property(CACHE DCGW_USRSCTP PROPERTY STRINGS auto patched system)
include(${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake)
dcgw_debian_cache_dir(usrsctp _us_cache)
set(DCGW_USRSCTP_SOURCE "${_us_cache}" CACHE PATH
    "directory holding libusrsctp's Debian source package files (fetched there when missing)")
if(DCGW_USRSCTP_SOURCE STREQUAL "")
    set(DCGW_USRSCTP_SOURCE "${_us_cache}" CACHE PATH "" FORCE)
endif()

set(_us_version "0.9.5.0")
set(_us_debian "${_us_version}-2")
set(_us_files
    "libusrsctp_${_us_debian}.dsc"
    "libusrsctp_${_us_version}.orig.tar.gz"
    "libusrsctp_${_us_debian}.debian.tar.xz")
set(_us_sha256
    "fdf19f731612b462c4d0ed8a0cf75618970161e97a4e414c766e982250b4364c"
    "260107caf318650a57a8caa593550e39bca6943e93f970c80d6c17e59d62cd92"
    "4b7b108eecf70c05d90222a3cb882113d8366a673dac23c8b7d31d5aeee086c6")
set(_us_patches
    "${CMAKE_CURRENT_SOURCE_DIR}/third_party/usrsctp/0001-streams-made-when-first-used.patch"
    "${CMAKE_CURRENT_SOURCE_DIR}/third_party/usrsctp/0002-callout-wheel.patch"
    "${CMAKE_CURRENT_SOURCE_DIR}/third_party/usrsctp/0003-one-thread-no-locks.patch"
    "${CMAKE_CURRENT_SOURCE_DIR}/third_party/usrsctp/0004-more-associations.patch")
set(_us_dir "${CMAKE_BINARY_DIR}/usrsctp")
set(_us_src "${_us_dir}/usrsctp-${_us_version}")
set(_us_stamp "${_us_dir}/patched.stamp")

# Whether every file is in DCGW_USRSCTP_SOURCE with the right sum (a wrong one is removed).
function(_us_have ok)
    set(${ok} TRUE PARENT_SCOPE)
    list(LENGTH _us_files n)
    math(EXPR last "${n} - 1")
    foreach(i RANGE ${last})
        list(GET _us_files ${i} f)
        list(GET _us_sha256 ${i} sum)
        set(p "${DCGW_USRSCTP_SOURCE}/${f}")
        if(NOT EXISTS "${p}")
            set(${ok} FALSE PARENT_SCOPE)
            continue()
        endif()
        file(SHA256 "${p}" have)
        if(NOT have STREQUAL sum)
            message(WARNING "usrsctp: ${p} has SHA-256 ${have}, want ${sum}: removed")
            file(REMOVE "${p}")
            set(${ok} FALSE PARENT_SCOPE)
        endif()
    endforeach()
endfunction()

# Fetches (when missing), checks, unpacks and patches the source into _us_src. Sets ok to TRUE
# or FALSE and why to the reason.
function(_us_prepare ok why)
    _us_have(have)
    if(NOT have)
        dcgw_debian_fetch(libusrsctp "${_us_debian}" "${DCGW_USRSCTP_SOURCE}" "" got err)
        _us_have(have)
        if(NOT have)
            set(${ok} FALSE PARENT_SCOPE)
            set(${why} "libusrsctp ${_us_debian} source not in ${DCGW_USRSCTP_SOURCE} and not fetched (${err})"
                PARENT_SCOPE)
            return()
        endif()
    endif()
    list(GET _us_files 1 orig)
    list(GET _us_files 2 deb)
    dcgw_debian_unpack("${_us_src}" "${DCGW_USRSCTP_SOURCE}/${orig}"
                       "${DCGW_USRSCTP_SOURCE}/${deb}" "${_us_patches}" res err)
    set(${ok} ${res} PARENT_SCOPE)
    set(${why} "${err}" PARENT_SCOPE)
endfunction()

set(DCGW_USRSCTP_KIND "system")
if(NOT DCGW_USRSCTP MATCHES "^(auto|patched|system)$")
    message(FATAL_ERROR "DCGW_USRSCTP=${DCGW_USRSCTP}: want auto, patched or system")
endif()
if(NOT DCGW_USRSCTP STREQUAL "system")
    # Prepared once per build tree: again when a patch, this file or debian-source.cmake changes.
    set(_us_ok TRUE)
    dcgw_debian_fresh("${_us_stamp}" "${_us_src}"
                      "${_us_patches};${CMAKE_CURRENT_LIST_FILE};${CMAKE_CURRENT_LIST_DIR}/debian-source.cmake"
                      _us_fresh)
    if(NOT _us_fresh)
        file(REMOVE "${_us_stamp}")
        # and what was built from the old source: the external project's stamps would
        # otherwise keep its build step from running again (a new patch left unbuilt)
        file(REMOVE_RECURSE "${_us_dir}/build" "${CMAKE_BINARY_DIR}/usrsctp_patched-prefix")
        _us_prepare(_us_ok _us_why)
        if(_us_ok)
            file(TOUCH "${_us_stamp}")
        endif()
    endif()
    if(_us_ok)
        set(DCGW_USRSCTP_KIND "patched")
    elseif(DCGW_USRSCTP STREQUAL "patched")
        message(FATAL_ERROR "DCGW_USRSCTP=patched: ${_us_why}")
    else()
        message(WARNING "usrsctp: using the system library, unpatched: ${_us_why}. It works; an "
                        "association then holds every stream it negotiated "
                        "(third_party/usrsctp/README.md).")
    endif()
endif()

if(DCGW_USRSCTP_KIND STREQUAL "patched")
    include(ExternalProject)
    set(_us_bin "${_us_dir}/build")
    set(_us_lib "${_us_bin}/usrsctplib/libusrsctp.a")
    # As Debian builds it (IPv4 and IPv6, debug output available, no invariants), but static,
    # position-independent, and without -Werror: warnings in usrsctp's own code never fail
    # dcgw's build. Sanitized builds instrument it with AddressSanitizer too.
    # DCGW_USRSCTP_NO_LOCKS: patch 0003, its locks compiled to nothing (one thread only).
    set(_us_cflags "-Wno-error -DDCGW_USRSCTP_NO_LOCKS")
    if(DCGW_SANITIZE OR DCGW_FUZZ)
        string(APPEND _us_cflags " -fsanitize=address -fno-omit-frame-pointer")
    endif()
    ExternalProject_Add(usrsctp_patched
        SOURCE_DIR "${_us_src}"
        BINARY_DIR "${_us_bin}"
        CMAKE_ARGS -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=${CMAKE_C_COMPILER}
                   -DCMAKE_C_FLAGS=${_us_cflags}
                   -DCMAKE_POSITION_INDEPENDENT_CODE=ON -Dsctp_build_programs=OFF
                   -Dsctp_build_shared_lib=OFF -Dsctp_werror=OFF -Dsctp_debug=ON
                   -Dsctp_invariants=OFF
        BUILD_COMMAND ${CMAKE_COMMAND} --build "${_us_bin}" --target usrsctp
        # Always asked (a no-op when nothing changed): a changed patch re-extracts the
        # source at configure time, and its make must see the new files.
        BUILD_ALWAYS ON
        INSTALL_COMMAND ""
        BUILD_BYPRODUCTS "${_us_lib}"
        LOG_CONFIGURE ON LOG_BUILD ON LOG_OUTPUT_ON_FAILURE ON)
    add_library(dcgw_usrsctp STATIC IMPORTED GLOBAL)
    set_target_properties(dcgw_usrsctp PROPERTIES
        IMPORTED_LOCATION "${_us_lib}"
        INTERFACE_INCLUDE_DIRECTORIES "${_us_src}/usrsctplib"
        INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_us_src}/usrsctplib"
        INTERFACE_COMPILE_DEFINITIONS "DCGW_USRSCTP_PATCHED=1;DCGW_USRSCTP_NO_LOCKS=1")
    find_package(Threads REQUIRED)
    target_link_libraries(dcgw_usrsctp INTERFACE Threads::Threads)
    add_dependencies(dcgw_usrsctp usrsctp_patched)
    set(DCGW_USRSCTP_TARGET dcgw_usrsctp)
    message(STATUS "usrsctp: Debian ${_us_debian} with dcgw's patch, static (${_us_src})")
else()
    # CMakeLists.txt finds it with pkg-config (where tools/deps-guard.py sees the call)
    set(DCGW_USRSCTP_TARGET PkgConfig::USRSCTP)
    message(STATUS "usrsctp: the system library (unpatched)")
endif()
