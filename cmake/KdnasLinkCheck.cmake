# kdnas_link_check(NAME TARGET target FORBID pattern...): a ctest that fails
# when `target` links a library it must not. Two views must both be clean:
# the link closure CMake knows at configure time (every LINK_LIBRARIES and
# INTERFACE_LINK_LIBRARIES entry, followed through targets) and the shared
# libraries the built binary loads (ldd). Patterns are regular expressions,
# matched case-insensitively against target names, library names and paths.

# kdnas_link_closure(target out_var): `target` and everything it links,
# directly or through other targets.
function(kdnas_link_closure target out_var)
  set(seen "")
  set(queue "${target}")
  while(queue)
    list(POP_FRONT queue item)
    # $<LINK_ONLY:x>, $<$<CONFIG:Release>:x>, ...: keep x (over-approximates).
    string(REGEX REPLACE "^(\\$<[^:>]*:)+" "" item "${item}")
    string(REGEX REPLACE ">+$" "" item "${item}")
    if(item STREQUAL "" OR item MATCHES "^::@" OR item IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${item}")
    if(TARGET "${item}")
      get_target_property(aliased "${item}" ALIASED_TARGET)
      if(aliased)
        list(APPEND queue "${aliased}")
      endif()
      foreach(property LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
        get_target_property(libs "${item}" ${property})
        if(libs)
          list(APPEND queue ${libs})
        endif()
      endforeach()
    endif()
  endwhile()
  set(${out_var} "${seen}" PARENT_SCOPE)
endfunction()

# Deferred to the end of the calling directory, so that every
# target_link_libraries before it is seen.
function(_kdnas_write_link_closure target file)
  kdnas_link_closure(${target} closure)
  string(REPLACE ";" "\n" closure "${closure}")
  file(WRITE "${file}" "${closure}\n")
endfunction()

function(kdnas_link_check name)
  cmake_parse_arguments(ARG "" "TARGET" "FORBID" ${ARGN})
  set(closure_file "${CMAKE_CURRENT_BINARY_DIR}/${name}.closure.txt")
  # A deferred call reads variables when it runs: pass the values in now.
  cmake_language(EVAL CODE
    "cmake_language(DEFER CALL _kdnas_write_link_closure [[${ARG_TARGET}]] [[${closure_file}]])")
  string(REPLACE ";" "|" forbid "${ARG_FORBID}")
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} -DTARGET=${ARG_TARGET} -DCLOSURE_FILE=${closure_file}
            -DBINARY=$<TARGET_FILE:${ARG_TARGET}> "-DFORBID=${forbid}"
            -P ${PROJECT_SOURCE_DIR}/cmake/check_link_deps.cmake)
  set_tests_properties(${name} PROPERTIES TIMEOUT 30 LABELS "link")
endfunction()
