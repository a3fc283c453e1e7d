# The script behind kdnas_link_check (cmake/KdnasLinkCheck.cmake):
#   cmake -DTARGET=t -DCLOSURE_FILE=f -DBINARY=b -DFORBID='re1|re2' -P check_link_deps.cmake
# Fails when a line of the configure-time link closure, or a shared library
# `ldd BINARY` lists, matches one of the FORBID patterns (case-insensitive).
file(STRINGS "${CLOSURE_FILE}" closure)
execute_process(COMMAND ldd "${BINARY}" OUTPUT_VARIABLE ldd_out RESULT_VARIABLE ldd_rc)
if(NOT ldd_rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BINARY} failed (${ldd_rc})")
endif()
string(REPLACE "\n" ";" loaded "${ldd_out}")
string(REPLACE "|" ";" patterns "${FORBID}")
set(problems "")
foreach(pattern ${patterns})
  foreach(kind closure loaded)
    foreach(entry ${${kind}})
      string(STRIP "${entry}" entry)
      string(REGEX REPLACE " *\\(0x[0-9a-f]+\\)$" "" entry "${entry}")  # ldd's load address
      string(TOLOWER "${entry}" lower)
      if(lower MATCHES "${pattern}")
        list(APPEND problems "  ${kind}: ${entry} (matches '${pattern}')")
      endif()
    endforeach()
  endforeach()
endforeach()
list(LENGTH closure links)
if(problems)
  string(REPLACE ";" "\n" problems "${problems}")
  message(FATAL_ERROR "${TARGET} links what it must not:\n${problems}\n"
                      "(link closure: ${CLOSURE_FILE})")
endif()
message(STATUS "${TARGET}: none of ${FORBID} among its ${links} link entries or in ldd")
