# llama.cpp, as kdnas checks its GGUF exports against it and measures students
# with it: the prebuilt linux-x64 libraries of node-llama-cpp 3.21.1 and the
# headers of the same release's source, both installed by
# deploy/install-deps.sh under deploy/npm. Defines, when they are present:
#   kdnas::ggml_base  libggml-base.so: quantize_row_*_ref, dequantize_row_*,
#                     the gguf_* parser (ggml.h, gguf.h)
#   kdnas::llama      libllama + libggml (llama.h, ggml-backend.h); the CPU
#                     backends are loaded at run time from KDNAS_LLAMA_CPP_LIB_DIR
# and KDNAS_HAVE_LLAMA_CPP. Without them the parts that need llama.cpp are
# left out of the build, and the configure step says so.
set(KDNAS_LLAMA_CPP_LIB_DIR
    "${PROJECT_SOURCE_DIR}/deploy/npm/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
    CACHE PATH "llama.cpp's prebuilt shared libraries (libllama, libggml, CPU backends)")
set(KDNAS_LLAMA_CPP_SOURCE_DIR "${PROJECT_SOURCE_DIR}/deploy/npm/llama.cpp"
    CACHE PATH "llama.cpp's source of the same release (headers, tools)")

set(KDNAS_HAVE_LLAMA_CPP OFF)
set(_ggml_base "${KDNAS_LLAMA_CPP_LIB_DIR}/libggml-base.so")
set(_ggml "${KDNAS_LLAMA_CPP_LIB_DIR}/libggml.v0.4.0.so")
set(_llama "${KDNAS_LLAMA_CPP_LIB_DIR}/libllama.v0.4.0.so")
if(EXISTS "${_ggml_base}" AND EXISTS "${_ggml}" AND EXISTS "${_llama}"
   AND EXISTS "${KDNAS_LLAMA_CPP_SOURCE_DIR}/include/llama.h")
  set(KDNAS_HAVE_LLAMA_CPP ON)
  add_library(kdnas::ggml_base SHARED IMPORTED)
  set_target_properties(kdnas::ggml_base PROPERTIES
    IMPORTED_LOCATION "${_ggml_base}"
    INTERFACE_INCLUDE_DIRECTORIES "${KDNAS_LLAMA_CPP_SOURCE_DIR}/ggml/include")
  add_library(kdnas::ggml SHARED IMPORTED)
  set_target_properties(kdnas::ggml PROPERTIES
    IMPORTED_LOCATION "${_ggml}"
    INTERFACE_LINK_LIBRARIES kdnas::ggml_base)
  add_library(kdnas::llama SHARED IMPORTED)
  set_target_properties(kdnas::llama PROPERTIES
    IMPORTED_LOCATION "${_llama}"
    INTERFACE_INCLUDE_DIRECTORIES "${KDNAS_LLAMA_CPP_SOURCE_DIR}/include"
    INTERFACE_LINK_LIBRARIES kdnas::ggml
    INTERFACE_COMPILE_DEFINITIONS "KDNAS_LLAMA_CPP_LIB_DIR=\"${KDNAS_LLAMA_CPP_LIB_DIR}\"")
  message(STATUS "llama.cpp: prebuilt libraries in ${KDNAS_LLAMA_CPP_LIB_DIR}")
else()
  message(STATUS "llama.cpp: not found (run deploy/install-deps.sh); GGUF checks left out")
endif()
