# Writes the version source with the current git revision, at every build (not only when CMake
# configures), so that a rebuilt binary and the config.json of its runs name the commit they were
# built from. A tree with uncommitted changes to tracked files gets "-dirty". configure_file only
# rewrites the file when the text changes, so an unchanged revision recompiles nothing.
#   cmake -DSOURCE_DIR=... -DINPUT=... -DOUTPUT=... -DPROJECT_VERSION=... -P revision.cmake
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE FOOL_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT FOOL_GIT_REVISION)
  set(FOOL_GIT_REVISION "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE dirty
                  ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    set(FOOL_GIT_REVISION "${FOOL_GIT_REVISION}-dirty")
  endif()
endif()
configure_file(${INPUT} ${OUTPUT} @ONLY)
