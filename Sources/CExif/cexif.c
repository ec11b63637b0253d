#include "cexif.h"
#include <stdlib.h>
#include <string.h>

ExifData *sw_exif_open(const unsigned char *data, unsigned int length) {
    ExifData *exif = exif_data_new();
    if (!exif) return NULL;
    // Keep maker notes and unknown tags as they are: we only own a few fields. The options must
    // be off before loading: libexif drops tags it does not expect in an IFD while it loads
    // (Fooocus' UserComment in IFD0 was lost that way).
    exif_data_unset_option(exif, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
    exif_data_unset_option(exif, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    if (data) exif_data_load_data(exif, data, length);
    exif_data_set_byte_order(exif, exif_data_get_byte_order(exif));
    exif_data_set_data_type(exif, EXIF_DATA_TYPE_COMPRESSED);
    return exif;
}

static ExifEntry *fresh_entry(ExifData *exif, ExifIfd ifd, ExifTag tag) {
    ExifContent *content = exif->ifd[ifd];
    ExifEntry *old = exif_content_get_entry(content, tag);
    if (old) exif_content_remove_entry(content, old);
    ExifEntry *entry = exif_entry_new();
    if (!entry) return NULL;
    entry->tag = tag;
    exif_content_add_entry(content, entry);
    exif_entry_unref(entry);  // the content holds the reference now
    return entry;
}

static int fill(ExifEntry *entry, ExifFormat format, const void *bytes, unsigned int size,
                unsigned long components) {
    ExifMem *mem = exif_mem_new_default();
    unsigned char *buffer = exif_mem_alloc(mem, size);
    exif_mem_unref(mem);
    if (!buffer) return -1;
    memcpy(buffer, bytes, size);
    entry->data = buffer;
    entry->size = size;
    entry->format = format;
    entry->components = components;
    return 0;
}

int sw_exif_set_ascii(ExifData *exif, ExifIfd ifd, ExifTag tag, const char *value) {
    ExifEntry *entry = fresh_entry(exif, ifd, tag);
    if (!entry) return -1;
    unsigned int size = (unsigned int)strlen(value) + 1;  // ASCII includes the NUL
    return fill(entry, EXIF_FORMAT_ASCII, value, size, size);
}

int sw_exif_set_short(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned short value) {
    ExifEntry *entry = fresh_entry(exif, ifd, tag);
    if (!entry) return -1;
    unsigned char bytes[2];
    exif_set_short(bytes, exif_data_get_byte_order(exif), value);
    return fill(entry, EXIF_FORMAT_SHORT, bytes, 2, 1);
}

void sw_exif_remove(ExifData *exif, ExifIfd ifd, ExifTag tag) {
    ExifEntry *entry = exif_content_get_entry(exif->ifd[ifd], tag);
    if (entry) exif_content_remove_entry(exif->ifd[ifd], entry);
}

int sw_exif_get_ascii(ExifData *exif, ExifIfd ifd, ExifTag tag, char *buffer, unsigned int capacity) {
    ExifEntry *entry = exif_content_get_entry(exif->ifd[ifd], tag);
    if (!entry || entry->format != EXIF_FORMAT_ASCII || !entry->data || capacity == 0) return -1;
    unsigned int length = entry->size;
    while (length > 0 && entry->data[length - 1] == 0) length--;
    if (length >= capacity) length = capacity - 1;
    memcpy(buffer, entry->data, length);
    buffer[length] = 0;
    return (int)length;
}

int sw_exif_save(ExifData *exif, unsigned char **data, unsigned int *length) {
    *data = NULL;
    *length = 0;
    exif_data_save_data(exif, data, length);
    return *data ? 0 : -1;
}

void sw_exif_close(ExifData *exif) { if (exif) exif_data_unref(exif); }

int sw_exif_set_undefined(ExifData *exif, ExifIfd ifd, ExifTag tag, const unsigned char *bytes, unsigned int size) {
    ExifEntry *entry = fresh_entry(exif, ifd, tag);
    if (!entry) return -1;
    return fill(entry, EXIF_FORMAT_UNDEFINED, bytes, size, size);
}

int sw_exif_get_undefined(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned char *buffer, unsigned int capacity) {
    ExifEntry *entry = exif_content_get_entry(exif->ifd[ifd], tag);
    if (!entry || !entry->data || entry->size > capacity) return -1;
    memcpy(buffer, entry->data, entry->size);
    return (int)entry->size;
}

int sw_exif_is_big_endian(ExifData *exif) { return exif_data_get_byte_order(exif) == EXIF_BYTE_ORDER_MOTOROLA; }

int sw_exif_set_rational(ExifData *exif, ExifIfd ifd, ExifTag tag, unsigned int numerator, unsigned int denominator) {
    ExifEntry *entry = fresh_entry(exif, ifd, tag);
    if (!entry) return -1;
    unsigned char bytes[8];
    ExifRational value = { numerator, denominator };
    exif_set_rational(bytes, exif_data_get_byte_order(exif), value);
    return fill(entry, EXIF_FORMAT_RATIONAL, bytes, 8, 1);
}

int sw_exif_has(ExifData *exif, ExifIfd ifd, ExifTag tag) { return exif_content_get_entry(exif->ifd[ifd], tag) != NULL; }

int sw_exif_clear_ifd(ExifData *exif, ExifIfd ifd) {
    ExifContent *content = exif->ifd[ifd];
    int removed = 0;
    while (content->count > 0) {
        exif_content_remove_entry(content, content->entries[content->count - 1]);
        removed++;
    }
    return removed;
}
