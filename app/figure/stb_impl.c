/* stb_impl.c: the one place where the stb single-header libraries (Debian's
 * libstb-dev headers) are compiled: PNG writing for the export, PNG reading for
 * the tests that decode exported figures. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
