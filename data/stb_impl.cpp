// stb_impl.cpp: the one translation unit that compiles stb_image and
// stb_image_write (Debian's libstb-dev headers, single-file libraries).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
