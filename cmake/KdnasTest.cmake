# kdnas_test(NAME source.cc... LIBS lib... [LABELS l...] [TIMEOUT s]): one
# GoogleTest executable, one ctest entry. Tests without the "torch" label are
# labelled "unit" and built by the `unit_tests` target, the suite that the
# sanitizer stage of deploy/test.sh runs.
find_package(GTest REQUIRED)
include(GoogleTest)

function(kdnas_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set(labels ${ARG_LABELS})
  if(NOT "torch" IN_LIST labels)
    list(APPEND labels unit)
    set_property(GLOBAL APPEND PROPERTY KDNAS_UNIT_TESTS ${name})
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${labels}")
endfunction()
