// Small helpers over libexif: creating ASCII entries needs allocation through the entry's
// allocator, which is easy to get wrong from Swift.
#ifndef STOCKWERK_CEXIF_H
#define STOCKWERK_CEXIF_H
#include <libexif/exif-data.h>
#include <stddef.h>

/// Parses an EXIF block (starting with "Exif\0\0"), or creates an empty one when data is NULL.
ExifData *sw_exif_open(const unsigned char *data, unsigned int length);
/// Sets (or replaces) an ASCII tag in IFD0 or the EXIF IFD. Returns 0 on success.
int sw_exif_set_ascii(ExifData *exif, ExifIfd ifd, ExifTag tag, const char *value);
/// Sets a SHORT tag in IFD0 (e.g. Orientation).
int sw_exif_set_short(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned short value);
void sw_exif_remove(ExifData *exif, ExifIfd ifd, ExifTag tag);
/// Reads an ASCII tag's raw bytes (NUL-terminated copy in buffer); returns length or -1.
int sw_exif_get_ascii(ExifData *exif, ExifIfd ifd, ExifTag tag, char *buffer, unsigned int capacity);
/// Sets (or replaces) an UNDEFINED-format tag (e.g. UserComment in the EXIF IFD).
int sw_exif_set_undefined(ExifData *exif, ExifIfd ifd, ExifTag tag, const unsigned char *bytes, unsigned int size);
/// Copies an entry's raw bytes; returns their count, or -1 when absent or larger than capacity.
int sw_exif_get_undefined(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned char *buffer, unsigned int capacity);
/// 1 when the block is big-endian (Motorola), 0 for little-endian (Intel).
int sw_exif_is_big_endian(ExifData *exif);
/// Serialises to a block starting with "Exif\0\0"; free the result with free().
int sw_exif_save(ExifData *exif, unsigned char **data, unsigned int *length);
void sw_exif_close(ExifData *exif);
/// Sets (or replaces) a single RATIONAL tag (e.g. XResolution 300/1).
int sw_exif_set_rational(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned int numerator, unsigned int denominator);
/// 1 when the tag is present.
int sw_exif_has(ExifData *exif, ExifIfd ifd, ExifTag tag);
/// Removes every entry of an IFD (an empty GPS IFD is not written); returns how many.
int sw_exif_clear_ifd(ExifData *exif, ExifIfd ifd);
#endif
