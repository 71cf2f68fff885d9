# lockgraph_add_test(NAME <name> COMMAND <program> [<arg>...]
#                    [OPTIONS <key=value:...>] [REPORT_DIR <dir>]
#                    [WORKING_DIRECTORY <dir>])
#
# Registers a ctest test that runs <program> under `lockgraph run`, with
# liblockgraph.so preloaded: the test fails when lockgraph finds anything
# (run exits 66), when the program fails, or when lockgraph could not watch
# it (exit 67: a static or set-user-ID program). The findings are printed in
# the test's output, whose last line names the report file; each process's
# findings stay in <dir>/<name>.<pid>.jsonl (default <dir>: lockgraph/ in
# the current binary directory) for `lockgraph report` or SARIF.
#
# <program> may be an executable target of the project. OPTIONS go to the
# library as LOCKGRAPH_OPTIONS (`lockgraph run --options`), checked before the
# program starts: say on_cycle=abort to stop at the first cycle.
#
# Set by find_package(lockgraph); needs the lockgraph command installed with
# the package (LOCKGRAPH_EXECUTABLE).
function(lockgraph_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 LGT "" "NAME;OPTIONS;REPORT_DIR;WORKING_DIRECTORY"
    "COMMAND")
  if(LGT_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lockgraph_add_test: unknown arguments: ${LGT_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT LGT_NAME OR NOT LGT_COMMAND)
    message(FATAL_ERROR "lockgraph_add_test: NAME and COMMAND are required")
  endif()
  get_property(lockgraph GLOBAL PROPERTY LOCKGRAPH_EXECUTABLE)
  if(NOT lockgraph)
    message(FATAL_ERROR "lockgraph_add_test: this lockgraph was installed without the "
      "lockgraph command (LOCKGRAPH_EXECUTABLE is not set)")
  endif()
  if(NOT LGT_REPORT_DIR)
    set(LGT_REPORT_DIR "${CMAKE_CURRENT_BINARY_DIR}/lockgraph")
  endif()
  # The test name as a file name.
  string(REGEX REPLACE "[^A-Za-z0-9_.+-]" "_" file_name "${LGT_NAME}")

  list(POP_FRONT LGT_COMMAND program)
  # add_test replaces a target name by its file only as the first word of
  # COMMAND, which is the lockgraph command here.
  if(TARGET "${program}")
    get_target_property(type "${program}" TYPE)
    if(type STREQUAL "EXECUTABLE")
      set(program "$<TARGET_FILE:${program}>")
    endif()
  endif()

  set(run_args --report "${LGT_REPORT_DIR}/${file_name}.%p.jsonl")
  if(DEFINED LGT_OPTIONS AND NOT LGT_OPTIONS STREQUAL "")
    list(APPEND run_args --options "${LGT_OPTIONS}")
  endif()
  set(where)
  if(LGT_WORKING_DIRECTORY)
    set(where WORKING_DIRECTORY "${LGT_WORKING_DIRECTORY}")
  endif()
  add_test(NAME "${LGT_NAME}"
    COMMAND "${lockgraph}" run ${run_args} -- "${program}" ${LGT_COMMAND}
    ${where})
  set_property(TEST "${LGT_NAME}" APPEND PROPERTY LABELS lockgraph)
endfunction()
