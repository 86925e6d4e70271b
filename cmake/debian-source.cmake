# Helpers for the dependencies dcgw builds from Debian's source packages with its own patches
# (cmake/usrsctp.cmake, cmake/libssl.cmake): where the source packages are cached, fetching one
# (tools/debian-source.sh), unpacking it with Debian's quilt series and dcgw's patches applied,
# and whether a tree unpacked before is still current.

# The default cache folder of package NAME's source files, shared by every build tree:
# $XDG_CACHE_HOME/dcgw/NAME, else ~/.cache/dcgw/NAME, else in the build tree.
function(dcgw_debian_cache_dir name out)
    if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
        set(${out} "$ENV{XDG_CACHE_HOME}/dcgw/${name}" PARENT_SCOPE)
    elseif(DEFINED ENV{HOME} AND NOT "$ENV{HOME}" STREQUAL "")
        set(${out} "$ENV{HOME}/.cache/dcgw/${name}" PARENT_SCOPE)
    else()
        set(${out} "${CMAKE_BINARY_DIR}/${name}/dl" PARENT_SCOPE)
    endif()
endfunction()

# Fetches source package PACKAGE at VERSION into DIR with apt (tools/debian-source.sh; NEWER:
# see there, "" for none). Sets fetched to the version fetched, or "" and why to the reason.
function(dcgw_debian_fetch package version dir newer fetched why)
    message(STATUS "${package}: fetching Debian's source package ${version} into ${dir} (apt)")
    execute_process(COMMAND bash "${PROJECT_SOURCE_DIR}/tools/debian-source.sh" "${package}"
                            "${version}" "${dir}" ${newer}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 300)
    string(STRIP "${out}" out)
    string(STRIP "${err}" err)
    if(rc EQUAL 0 AND NOT out STREQUAL "")
        set(${fetched} "${out}" PARENT_SCOPE)
        if(NOT err STREQUAL "")
            message(STATUS "${err}")
        endif()
    else()
        set(${fetched} "" PARENT_SCOPE)
        set(${why} "${package} ${version} source not fetched (${err})" PARENT_SCOPE)
    endif()
endfunction()

# Unpacks ORIG (the upstream tarball, whose top folder is SRC's name) into SRC's parent and
# DEBIAN (the debian.tar.xz) into SRC, then applies Debian's quilt series and the PATCHES
# (a list) with patch -p1. Sets ok to TRUE, or FALSE and why to the reason.
function(dcgw_debian_unpack src orig debian patches ok why)
    find_program(PATCH_PROGRAM patch)
    if(NOT PATCH_PROGRAM)
        set(${ok} FALSE PARENT_SCOPE)
        set(${why} "no patch program (Debian package patch)" PARENT_SCOPE)
        return()
    endif()
    get_filename_component(parent "${src}" DIRECTORY)
    file(REMOVE_RECURSE "${src}")
    file(ARCHIVE_EXTRACT INPUT "${orig}" DESTINATION "${parent}")
    file(ARCHIVE_EXTRACT INPUT "${debian}" DESTINATION "${src}")
    if(NOT EXISTS "${src}/debian/patches/series")
        set(${ok} FALSE PARENT_SCOPE)
        set(${why} "${orig} and ${debian} gave no ${src}/debian/patches/series" PARENT_SCOPE)
        return()
    endif()
    file(STRINGS "${src}/debian/patches/series" series REGEX "^[^#]")
    set(all)
    foreach(p ${series})
        list(APPEND all "${src}/debian/patches/${p}")
    endforeach()
    list(APPEND all ${patches})
    foreach(p ${all})
        execute_process(COMMAND "${PATCH_PROGRAM}" -p1 --forward --batch --silent -i "${p}"
                        WORKING_DIRECTORY "${src}" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                        ERROR_VARIABLE out)
        if(NOT rc EQUAL 0)
            set(${ok} FALSE PARENT_SCOPE)
            set(${why} "${p} does not apply: ${out}" PARENT_SCOPE)
            return()
        endif()
    endforeach()
    set(${ok} TRUE PARENT_SCOPE)
    set(${why} "" PARENT_SCOPE)
endfunction()

# Whether SRC, unpacked when STAMP was touched, is still current: both exist and none of
# INPUTS (a list of files: the patches, the cmake file) is newer than STAMP.
function(dcgw_debian_fresh stamp src inputs out)
    set(${out} FALSE PARENT_SCOPE)
    if(NOT EXISTS "${stamp}" OR NOT EXISTS "${src}")
        return()
    endif()
    foreach(f ${inputs})
        if("${f}" IS_NEWER_THAN "${stamp}")
            return()
        endif()
    endforeach()
    set(${out} TRUE PARENT_SCOPE)
endfunction()
