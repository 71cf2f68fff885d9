# prebuild.cmake - run by CPack (CPACK_PRE_BUILD_SCRIPTS) on the staged
# files of the Debian package, before it is made: what Debian policy asks
# of a package that `cmake --install` need not do.
#
#   - the copyright file, /usr/share/doc/lockgraph/copyright (policy 12.5);
#   - the changelog, /usr/share/doc/lockgraph/changelog.gz (12.7: a native
#     package's);
#   - manual pages compressed with gzip -9n (12.1), so their bytes do not
#     depend on when they were packed.
#
# CPackConfig.cmake gives it CPACK_LOCKGRAPH_* (set in CMakeLists.txt) and
# the staging directory. Other generators (TGZ ...) are left alone.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
set(root "${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
if(NOT IS_DIRECTORY "${root}")
  message(FATAL_ERROR "lockgraph prebuild: no staged files at ${root}")
endif()
find_program(LG_GZIP gzip)
if(NOT LG_GZIP)
  message(FATAL_ERROR "lockgraph prebuild: gzip is needed to compress the manual pages")
endif()

# gzip -9n FILE into FILE.gz, FILE removed; mode 0644.
function(lg_gzip file)
  execute_process(COMMAND "${LG_GZIP}" -9nf "${file}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "lockgraph prebuild: gzip -9n ${file} failed")
  endif()
  file(CHMOD "${file}.gz" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endfunction()

set(doc "${root}/${CPACK_LOCKGRAPH_DOCDIR}")
file(MAKE_DIRECTORY "${doc}")
file(COPY_FILE "${CPACK_LOCKGRAPH_COPYRIGHT}" "${doc}/copyright")
file(COPY_FILE "${CPACK_LOCKGRAPH_CHANGELOG}" "${doc}/changelog")
file(CHMOD "${doc}/copyright" "${doc}/changelog"
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
lg_gzip("${doc}/changelog")

file(GLOB_RECURSE pages LIST_DIRECTORIES false "${root}/${CPACK_LOCKGRAPH_MANDIR}/man*/*")
foreach(page IN LISTS pages)
  if(NOT page MATCHES "\\.gz$")
    lg_gzip("${page}")
  endif()
endforeach()
