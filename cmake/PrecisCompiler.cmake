# Compiler flags shared by every C++ target: warnings, sanitizers, CPU feature level.
add_library(precis_flags INTERFACE)
target_compile_options(precis_flags INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
if(PRECIS_WERROR)
  target_compile_options(precis_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
if(PRECIS_SANITIZE)
  target_compile_options(precis_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${PRECIS_SANITIZE} -fno-omit-frame-pointer>)
  target_link_options(precis_flags INTERFACE -fsanitize=${PRECIS_SANITIZE})
endif()
if(PRECIS_NATIVE)
  target_compile_options(precis_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
