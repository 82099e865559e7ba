# cmake -P: turns a .spv binary (IN) into a C++ array named spv_NAME (OUT).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR words "${len} / 8")
# SPIR-V words are little-endian on every host we build on; reassemble each word from its bytes.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
file(WRITE ${OUT} "#include <cstddef>\n#include <cstdint>\nnamespace vkres::shaders {\nextern const uint32_t spv_${NAME}[] = {${body}};\nextern const size_t spv_${NAME}_words = ${words};\n}\n")
