#include "cvips.h"
#include <string.h>

int sw_vips_start(const char *program_name) { return VIPS_INIT(program_name); }
const char *sw_vips_error_text(void) { return vips_error_buffer(); }
void sw_vips_error_reset(void) { vips_error_clear(); }
void sw_unref(VipsImage *image) { if (image) g_object_unref(image); }

VipsImage *sw_open(const char *path, int sequential) {
    return vips_image_new_from_file(path, "access",
        sequential ? VIPS_ACCESS_SEQUENTIAL : VIPS_ACCESS_RANDOM, "fail", TRUE, NULL);
}
int sw_width(VipsImage *image) { return vips_image_get_width(image); }
int sw_height(VipsImage *image) { return vips_image_get_height(image); }
int sw_bands(VipsImage *image) { return vips_image_get_bands(image); }
int sw_interpretation(VipsImage *image) { return (int)vips_image_get_interpretation(image); }

const char *sw_loader(VipsImage *image) {
    const char *loader = NULL;
    if (vips_image_get_typeof(image, VIPS_META_LOADER) &&
        !vips_image_get_string(image, VIPS_META_LOADER, &loader))
        return loader;
    return "";
}

const void *sw_icc_profile(VipsImage *image, size_t *length) {
    const void *data = NULL;
    *length = 0;
    if (vips_image_get_typeof(image, VIPS_META_ICC_NAME) &&
        !vips_image_get_blob(image, VIPS_META_ICC_NAME, &data, length))
        return data;
    *length = 0;
    return NULL;
}

int sw_orientation(VipsImage *image) {
    int orientation = 1;
    if (vips_image_get_typeof(image, VIPS_META_ORIENTATION) &&
        !vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation))
        return orientation;
    return 1;
}

int sw_autorotate(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }

int sw_flatten_on_white(VipsImage *in, VipsImage **out) {
    if (!vips_image_hasalpha(in)) { g_object_ref(in); *out = in; return 0; }
    double white[1] = { 255.0 };
    if (vips_image_get_format(in) == VIPS_FORMAT_USHORT) white[0] = 65535.0;
    VipsArrayDouble *background = vips_array_double_new(white, 1);
    int result = vips_flatten(in, out, "background", background, NULL);
    vips_area_unref(VIPS_AREA(background));
    return result;
}

int sw_to_srgb(VipsImage *in, VipsImage **out) {
    VipsImage *rgb = NULL;
    if (vips_image_get_typeof(in, VIPS_META_ICC_NAME)) {
        // Use the embedded profile; relative colorimetric keeps in-gamut colours exact.
        if (vips_icc_transform(in, &rgb, "srgb", "embedded", TRUE,
                               "intent", VIPS_INTENT_RELATIVE, "depth", 8, NULL))
            return -1;
    } else {
        // No profile: interpret the pixels by their colourspace, then attach sRGB.
        VipsImage *converted = NULL;
        if (vips_colourspace(in, &converted, VIPS_INTERPRETATION_sRGB, NULL)) return -1;
        VipsImage *bytes = NULL;
        if (vips_cast(converted, &bytes, VIPS_FORMAT_UCHAR, NULL)) { g_object_unref(converted); return -1; }
        g_object_unref(converted);
        VipsBlob *profile = NULL;
        if (vips_profile_load("srgb", &profile, NULL)) { g_object_unref(bytes); return -1; }
        if (vips_copy(bytes, &rgb, NULL)) { g_object_unref(bytes); vips_area_unref(VIPS_AREA(profile)); return -1; }
        g_object_unref(bytes);
        size_t length = 0;
        const void *data = vips_blob_get(profile, &length);
        vips_image_set_blob_copy(rgb, VIPS_META_ICC_NAME, data, length);
        vips_area_unref(VIPS_AREA(profile));
    }
    *out = rgb;
    return 0;
}

int sw_shrink(VipsImage *in, VipsImage **out, int width, int height, int kernel) {
    double hscale = (double)width / vips_image_get_width(in);
    double vscale = (double)height / vips_image_get_height(in);
    VipsImage *resized = NULL;
    if (vips_resize(in, &resized, hscale, "vscale", vscale, "kernel", (VipsKernel)kernel, NULL))
        return -1;
    // vips rounds the output size; pin it to exactly width×height.
    if (vips_image_get_width(resized) == width && vips_image_get_height(resized) == height) {
        *out = resized;
        return 0;
    }
    int result = vips_gravity(resized, out, VIPS_COMPASS_DIRECTION_NORTH_WEST, width, height,
                              "extend", VIPS_EXTEND_COPY, NULL);
    g_object_unref(resized);
    return result;
}

int sw_enlarge(VipsImage *in, VipsImage **out, int width, int height, const char *interpolator) {
    VipsInterpolate *interpolate = vips_interpolate_new(interpolator);
    if (!interpolate) return -1;
    double a = (double)width / vips_image_get_width(in);
    double d = (double)height / vips_image_get_height(in);
    // Pixel centres line up: output centre x+0.5 maps to input centre (x+0.5)/a.
    VipsArrayInt *area = vips_array_int_newv(4, 0, 0, width, height);
    int result = vips_affine(in, out, a, 0.0, 0.0, d,
                             "interpolate", interpolate,
                             "odx", 0.5 * (a - 1.0), "ody", 0.5 * (d - 1.0),
                             "oarea", area,
                             "extend", VIPS_EXTEND_COPY, NULL);
    vips_area_unref(VIPS_AREA(area));
    g_object_unref(interpolate);
    return result;
}

int sw_sharpen(VipsImage *in, VipsImage **out, double sigma, double x1, double m1, double m2) {
    VipsImage *sharp = NULL;
    if (vips_sharpen(in, &sharp, "sigma", sigma, "x1", x1, "m1", m1, "m2", m2, NULL)) return -1;
    // sharpen works in LabS and returns the input's interpretation; keep 8-bit sRGB.
    if (vips_image_get_format(sharp) == VIPS_FORMAT_UCHAR) { *out = sharp; return 0; }
    int result = vips_cast(sharp, out, VIPS_FORMAT_UCHAR, NULL);
    g_object_unref(sharp);
    return result;
}

int sw_save_jpeg(VipsImage *in, const char *path, int quality, int subsample, int interlace) {
    VipsForeignSubsample mode = subsample == 1 ? VIPS_FOREIGN_SUBSAMPLE_ON
                              : subsample == 2 ? VIPS_FOREIGN_SUBSAMPLE_OFF
                                               : VIPS_FOREIGN_SUBSAMPLE_AUTO;
    return vips_jpegsave(in, path, "Q", quality, "optimize_coding", TRUE,
                         "subsample_mode", mode, "interlace", interlace ? TRUE : FALSE,
                         "strip", FALSE, NULL);
}

int sw_save_png(VipsImage *in, const char *path) { return vips_pngsave(in, path, NULL); }
int sw_save_by_extension(VipsImage *in, const char *path) { return vips_image_write_to_file(in, path, NULL); }

void sw_set_string(VipsImage *image, const char *name, const char *value) { vips_image_set_string(image, name, value); }

char *sw_png_text(VipsImage *image, const char *key) {
    // libvips names PNG text chunks "png-comment-N-KEY", N counting chunks in file order.
    char **fields = vips_image_get_fields(image);
    char *found = NULL;
    size_t key_length = strlen(key);
    for (int i = 0; fields[i] && !found; i++) {
        const char *name = fields[i];
        if (strncmp(name, "png-comment-", 12) != 0) continue;
        const char *dash = strchr(name + 12, '-');
        const char *value = NULL;
        if (dash && strlen(dash + 1) == key_length && strcmp(dash + 1, key) == 0 && vips_image_get_string(image, name, &value) == 0 && value)
            found = g_strdup(value);
    }
    g_strfreev(fields);
    return found;
}

const void *sw_blob(VipsImage *image, const char *name, size_t *length) {
    const void *data = NULL;
    *length = 0;
    if (vips_image_get_typeof(image, name) && !vips_image_get_blob(image, name, &data, length))
        return data;
    *length = 0;
    return NULL;
}

int sw_test_pattern(int width, int height, const char *profile, VipsImage **out) {
    VipsImage *t[8] = { 0 };
    int result = -1;
    // Red: horizontal ramp; green: vertical ramp; blue: a fine zone plate for detail.
    if (vips_xyz(&t[0], width, height, NULL)) goto done;
    if (vips_extract_band(t[0], &t[1], 0, NULL)) goto done;
    if (vips_extract_band(t[0], &t[2], 1, NULL)) goto done;
    if (vips_linear1(t[1], &t[3], 255.0 / (width > 1 ? width - 1 : 1), 0.0, NULL)) goto done;
    if (vips_linear1(t[2], &t[4], 255.0 / (height > 1 ? height - 1 : 1), 0.0, NULL)) goto done;
    if (vips_zone(&t[5], width, height, NULL)) goto done;
    if (vips_linear1(t[5], &t[6], 120.0, 128.0, NULL)) goto done;
    VipsImage *bands[3] = { t[3], t[4], t[6] };
    VipsImage *joined = NULL, *bytes = NULL;
    if (vips_bandjoin(bands, &joined, 3, NULL)) goto done;
    if (vips_cast(joined, &bytes, VIPS_FORMAT_UCHAR, NULL)) { g_object_unref(joined); goto done; }
    g_object_unref(joined);
    bytes->Type = VIPS_INTERPRETATION_sRGB;
    if (profile) {
        VipsBlob *blob = NULL;
        if (vips_profile_load(profile, &blob, NULL)) { g_object_unref(bytes); goto done; }
        size_t length = 0;
        const void *data = vips_blob_get(blob, &length);
        vips_image_set_blob_copy(bytes, VIPS_META_ICC_NAME, data, length);
        vips_area_unref(VIPS_AREA(blob));
    }
    *out = bytes;
    result = 0;
done:
    for (int i = 0; i < 8; i++) if (t[i]) g_object_unref(t[i]);
    return result;
}

int sw_stats(VipsImage *in, double *mean, double *deviation) {
    if (vips_avg(in, mean, NULL)) return -1;
    return vips_deviate(in, deviation, NULL);
}

int sw_from_rgb_bytes(const unsigned char *data, int width, int height, VipsImage **out) {
    *out = vips_image_new_from_memory_copy(data, (size_t)width * height * 3, width, height, 3, VIPS_FORMAT_UCHAR);
    if (!*out) return -1;
    (*out)->Type = VIPS_INTERPRETATION_sRGB;
    return 0;
}

unsigned char *sw_to_rgb_bytes(VipsImage *in, size_t *length) {
    return vips_image_write_to_memory(in, length);
}

void sw_free_bytes(void *bytes) { g_free(bytes); }

int sw_thumbnail_jpeg(const char *path, int size, int quality, void **buffer, size_t *length) {
    VipsImage *thumb = NULL;
    *buffer = NULL;
    *length = 0;
    if (vips_thumbnail(path, &thumb, size, "height", size, "size", VIPS_SIZE_DOWN, NULL)) return -1;
    int status = vips_jpegsave_buffer(thumb, buffer, length, "Q", quality, "strip", TRUE, NULL);
    g_object_unref(thumb);
    return status;
}

int sw_crop_jpeg(const char *path, int left, int top, int width, int height, int quality, void **buffer, size_t *length) {
    VipsImage *image = NULL, *area = NULL, *srgb = NULL;
    *buffer = NULL;
    *length = 0;
    if (!(image = vips_image_new_from_file(path, "access", VIPS_ACCESS_RANDOM, NULL))) return -1;
    int status = vips_extract_area(image, &area, left, top, width, height, NULL)
        || vips_colourspace(area, &srgb, VIPS_INTERPRETATION_sRGB, NULL)
        || vips_jpegsave_buffer(srgb, buffer, length, "Q", quality, "strip", TRUE, NULL);
    if (srgb) g_object_unref(srgb);
    if (area) g_object_unref(area);
    g_object_unref(image);
    return status ? -1 : 0;
}

int sw_gray_thumbnail(const char *path, int width, int height, unsigned char *out) {
    VipsImage *thumb = NULL, *gray = NULL, *bytes = NULL;
    if (vips_thumbnail(path, &thumb, width, "height", height, "size", VIPS_SIZE_FORCE, NULL)) return -1;
    int status = vips_colourspace(thumb, &gray, VIPS_INTERPRETATION_B_W, NULL);
    if (!status) status = vips_cast_uchar(gray, &bytes, NULL);
    if (!status) {
        size_t length = 0;
        void *data = vips_image_write_to_memory(bytes, &length);
        int bands = vips_image_get_bands(bytes);
        if (!data || length != (size_t)(width * height * bands)) status = -1;
        else for (int i = 0; i < width * height; i++) out[i] = ((unsigned char *)data)[i * bands];
        g_free(data);
    }
    if (bytes) g_object_unref(bytes);
    if (gray) g_object_unref(gray);
    g_object_unref(thumb);
    return status;
}

int sw_rgb_thumbnail(const char *path, int size, int *width, int *height, unsigned char **bytes) {
    VipsImage *thumb = NULL, *flat = NULL, *srgb = NULL, *cast = NULL;
    *bytes = NULL;
    // JPEGs: let libjpeg decode at 1/8 scale and skip colour management (analysis needs no ICC
    // accuracy); vips_thumbnail for everything else.
    const char *loader = vips_foreign_find_load(path);
    if (loader && strstr(loader, "Jpeg")) {
        VipsImage *small = NULL;
        if (vips_jpegload(path, &small, "shrink", 8, NULL)) return -1;
        double scale = (double)size / (vips_image_get_width(small) > vips_image_get_height(small) ? vips_image_get_width(small) : vips_image_get_height(small));
        int status = scale < 1 ? vips_resize(small, &thumb, scale, NULL) : vips_copy(small, &thumb, NULL);
        g_object_unref(small);
        if (status) return -1;
    } else if (vips_thumbnail(path, &thumb, size, "height", size, "size", VIPS_SIZE_DOWN, NULL)) {
        return -1;
    }
    int status = 0;
    VipsImage *current = thumb;
    if (vips_image_hasalpha(current)) {
        double white[3] = {255, 255, 255};
        status = vips_flatten(current, &flat, "background", vips_array_double_new(white, 3), NULL);
        if (!status) current = flat;
    }
    if (!status) status = vips_colourspace(current, &srgb, VIPS_INTERPRETATION_sRGB, NULL);
    if (!status) status = vips_cast_uchar(srgb, &cast, NULL);
    if (!status) {
        size_t length = 0;
        *width = vips_image_get_width(cast);
        *height = vips_image_get_height(cast);
        int bands = vips_image_get_bands(cast);
        unsigned char *data = vips_image_write_to_memory(cast, &length);
        if (!data || bands < 3) { status = -1; g_free(data); }
        else {
            *bytes = g_malloc((size_t)(*width) * (*height) * 3);
            for (int i = 0; i < (*width) * (*height); i++) for (int c = 0; c < 3; c++) (*bytes)[i * 3 + c] = data[i * bands + c];
            g_free(data);
        }
    }
    if (cast) g_object_unref(cast);
    if (srgb) g_object_unref(srgb);
    if (flat) g_object_unref(flat);
    g_object_unref(thumb);
    return status;
}

int sw_laplacian_variance(VipsImage *in, int left, int top, int width, int height, int shrink, double *variance) {
    // Detail figure: variance of the 4-neighbour Laplacian of the luminance over one area,
    // after averaging shrink x shrink blocks (the scale at which an enlargement's detail lives).
    VipsImage *t[6] = {NULL};
    VipsImage *mask = vips_image_new_matrixv(3, 3, 0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0);
    double deviation = 0;
    int result = vips_extract_area(in, &t[0], left, top, width, height, NULL)
        || vips_colourspace(t[0], &t[1], VIPS_INTERPRETATION_B_W, NULL)
        || vips_extract_band(t[1], &t[2], 0, NULL)
        || vips_cast(t[2], &t[3], VIPS_FORMAT_FLOAT, NULL)
        || vips_shrink(t[3], &t[4], (double)shrink, (double)shrink, NULL)
        || vips_conv(t[4], &t[5], mask, "precision", VIPS_PRECISION_FLOAT, NULL)
        || vips_deviate(t[5], &deviation, NULL);
    *variance = deviation * deviation;
    g_object_unref(mask);
    for (int i = 0; i < 6; i++) if (t[i]) g_object_unref(t[i]);
    return result ? -1 : 0;
}

int sw_jpeg_round_trip_area(VipsImage *in, int left, int top, int width, int height, int quality, int subsample, VipsImage **out) {
    // One area of `in` through the same JPEG encoding as the finish stage, so a detail figure
    // compares like with like (JPEG quantisation adds fine-scale noise of its own).
    VipsImage *area = NULL;
    void *buffer = NULL;
    size_t length = 0;
    VipsForeignSubsample mode = subsample == 1 ? VIPS_FOREIGN_SUBSAMPLE_ON : subsample == 2 ? VIPS_FOREIGN_SUBSAMPLE_OFF : VIPS_FOREIGN_SUBSAMPLE_AUTO;
    int result = vips_extract_area(in, &area, left, top, width, height, NULL)
        || vips_jpegsave_buffer(area, &buffer, &length, "Q", quality, "optimize_coding", TRUE, "subsample_mode", mode, NULL);
    if (area) g_object_unref(area);
    if (result) { g_free(buffer); return -1; }
    VipsImage *loaded = NULL;
    result = vips_jpegload_buffer(buffer, length, &loaded, NULL);
    // The loaded image refers to the buffer until it is copied into memory.
    if (!result) { *out = vips_image_copy_memory(loaded); result = *out == NULL; }
    if (loaded) g_object_unref(loaded);
    g_free(buffer);
    return result ? -1 : 0;
}
