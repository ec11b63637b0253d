// Fixed-argument wrappers around the libvips operations Stockwerk uses.
// libvips' public API is C-variadic (optional arguments end with NULL), which Swift cannot call.
// Every function returns 0 on success and -1 on failure; the message is in vips_error_buffer().
#ifndef STOCKWERK_CVIPS_H
#define STOCKWERK_CVIPS_H

#include <vips/vips.h>

int sw_vips_start(const char *program_name);
const char *sw_vips_error_text(void);
void sw_vips_error_reset(void);
void sw_unref(VipsImage *image);

/// Opens an image lazily; `sequential` streams top to bottom with little memory.
VipsImage *sw_open(const char *path, int sequential);
int sw_width(VipsImage *image);
int sw_height(VipsImage *image);
int sw_bands(VipsImage *image);
int sw_interpretation(VipsImage *image);
const char *sw_loader(VipsImage *image);
/// The embedded ICC profile, or NULL. The bytes belong to the image.
const void *sw_icc_profile(VipsImage *image, size_t *length);
/// EXIF orientation 1…8, or 1 when absent.
int sw_orientation(VipsImage *image);

int sw_autorotate(VipsImage *in, VipsImage **out);
int sw_flatten_on_white(VipsImage *in, VipsImage **out);
/// To 8-bit sRGB with the sRGB ICC profile attached, from the embedded profile when there is one.
int sw_to_srgb(VipsImage *in, VipsImage **out);
/// Shrink with a convolution kernel (VipsKernel) to exactly width×height.
int sw_shrink(VipsImage *in, VipsImage **out, int width, int height, int kernel);
/// Enlarge with an interpolator ("bicubic", "nohalo", "lbb", "bilinear", "nearest") to exactly width×height.
int sw_enlarge(VipsImage *in, VipsImage **out, int width, int height, const char *interpolator);
int sw_sharpen(VipsImage *in, VipsImage **out, double sigma, double x1, double m1, double m2);
/// subsample: 0 auto, 1 always 4:2:0, 2 never (4:4:4). Optimized Huffman tables, metadata kept.
int sw_save_jpeg(VipsImage *in, const char *path, int quality, int subsample, int interlace);
int sw_save_png(VipsImage *in, const char *path);
// 8-bit interleaved RGB in and out of memory (the diffusion engine's pixels).
int sw_from_rgb_bytes(const unsigned char *data, int width, int height, VipsImage **out);
unsigned char *sw_to_rgb_bytes(VipsImage *in, size_t *length);
void sw_free_bytes(void *bytes);
/// Sets a string item (e.g. "png-comment-0-parameters", written as a PNG text chunk).
void sw_set_string(VipsImage *image, const char *name, const char *value);
/// A copy of the PNG text chunk KEY, or NULL; free it with sw_free_bytes.
char *sw_png_text(VipsImage *image, const char *key);
/// Saves with the saver chosen by the file name's extension.
int sw_save_by_extension(VipsImage *in, const char *path);
/// A metadata blob ("exif-data", "xmp-data", "iptc-data", "icc-profile-data") or NULL.
const void *sw_blob(VipsImage *image, const char *name, size_t *length);
/// Deterministic test pattern (gradients and structure), 3-band uchar; profile "srgb", "p3" or NULL.
int sw_test_pattern(int width, int height, const char *profile, VipsImage **out);
/// Mean and standard deviation of all bands.
int sw_stats(VipsImage *in, double *mean, double *deviation);

/// A JPEG thumbnail (longest side `size`, never enlarged, metadata stripped) in a buffer to free with g_free.
int sw_thumbnail_jpeg(const char *path, int size, int quality, void **buffer, size_t *length);
/// A width × height area of the image at `path`, at 100 %, as JPEG bytes (g_free them with sw_free_bytes).
int sw_crop_jpeg(const char *path, int left, int top, int width, int height, int quality, void **buffer, size_t *length);
/// The image shrunk to exactly width x height, grey, 8 bits, into `out` (width*height bytes).
int sw_gray_thumbnail(const char *path, int width, int height, unsigned char *out);
/// An sRGB 8-bit RGB thumbnail (longest side `size`, transparency on white); free bytes with sw_free_bytes.
int sw_rgb_thumbnail(const char *path, int size, int *width, int *height, unsigned char **bytes);
/// Variance of the Laplacian of the luminance over an area of `in`, averaged over shrink² blocks first.
int sw_laplacian_variance(VipsImage *in, int left, int top, int width, int height, int shrink, double *variance);
/// An area of `in` encoded as JPEG (quality, subsample: 1 on, 2 off, else auto) and decoded again, in memory.
int sw_jpeg_round_trip_area(VipsImage *in, int left, int top, int width, int height, int quality, int subsample, VipsImage **out);
#endif
