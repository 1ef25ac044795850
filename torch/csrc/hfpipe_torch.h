/*
 * hfpipe_torch: a flat C API over libtorch for the Go package
 * github.com/hfpipe/hfpipe/torch, in the manner of tch-rs's torch-sys.
 *
 * Conventions:
 *  - Every function returns NULL on success or a NUL-terminated error
 *    message that the caller releases with hp_free_error (never NULL on
 *    failure: when no memory is left for the message, a static one stands
 *    in, which hp_free_error leaves alone). Errors are
 *    returned from the same call (never kept in thread-local state) because a
 *    goroutine may move to another OS thread between two cgo calls.
 *  - An error message that starts with HP_OOM_TAG reports an allocation
 *    failure (CPU or CUDA); the rest is libtorch's message.
 *  - Handles are opaque; each has exactly one owner that frees it with the
 *    matching *_free function. Freeing NULL is a no-op.
 *  - No C++ exception crosses this boundary.
 */
#ifndef HFPIPE_TORCH_H
#define HFPIPE_TORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HP_OOM_TAG "[out of memory] "

typedef struct hp_tensor_s *hp_tensor;
typedef struct hp_module_s *hp_module;
typedef struct hp_ivalue_s *hp_ivalue;
typedef struct hp_mapping_s *hp_mapping;

/* IValue kinds reported by hp_ivalue_kind. */
enum {
  HP_IV_NONE = 0,
  HP_IV_TENSOR = 1,
  HP_IV_DOUBLE = 2,
  HP_IV_INT = 3,
  HP_IV_BOOL = 4,
  HP_IV_STRING = 5,
  HP_IV_TUPLE = 6,
  HP_IV_LIST = 7,
  HP_IV_DICT = 8,
  HP_IV_OTHER = 99
};

void hp_free_error(char *err);

/* ---- runtime ---- */
char *hp_version(char **out); /* out: malloc'd libtorch version, free with hp_free_error */
/* ATen's CPU capability in use ("DEFAULT", "AVX2", "AVX512"; ATEN_CPU_CAPABILITY
 * caps it), malloc'd: free with hp_free_error. */
char *hp_cpu_capability(char **out);
char *hp_set_num_threads(int n);
char *hp_get_num_threads(int *out);
// The intra-op thread count OpenMP gives the calling thread's next parallel
// region (omp_get_max_threads; 0 without OpenMP), left as it is: the
// binding's check that calls leave their calling threads at 1.
void hp_calling_thread_omp_threads(int *out);
char *hp_manual_seed(uint64_t seed);
char *hp_cuda_is_available(int *out);
char *hp_cuda_device_count(int *out);
char *hp_cuda_synchronize(int device);
/* Returns free heap memory to the OS (glibc malloc_trim); 0 where unsupported. */
int hp_release_free_memory(void);
/* Makes glibc malloc serve blocks below mmap_threshold from its heaps and keep
 * up to trim_threshold of freed memory there (mallopt M_MMAP_THRESHOLD,
 * M_TRIM_THRESHOLD); 1 when both took, 0 where unsupported. */
int hp_malloc_keep_freed(size_t mmap_threshold, size_t trim_threshold);

/* Replaces libtorch's CPU allocator by a caching one (cpu_cache.cpp): freed
 * blocks of at least min_bytes (fixed by the first call) are kept, up to
 * max_cached bytes in all, and reused for allocations of the same rounded
 * size. Safe while other threads allocate; idempotent. */
char *hp_cpu_cache_enable(size_t min_bytes, size_t max_cached);
/* Puts back the allocator hp_cpu_cache_enable replaced and frees the idle
 * blocks; blocks still in use are freed when their tensors go. Safe while
 * other threads allocate; idempotent. */
char *hp_cpu_cache_disable(void);
/* Sets the most idle bytes the cache keeps, freeing what is over; nothing
 * when the cache is not enabled. */
char *hp_cpu_cache_set_limit(size_t max_cached);
/* Frees the cached blocks (blocks in use stay). */
char *hp_cpu_cache_release(void);
/* The size of the block the cache hands out for a request of n bytes at or
 * above its minimum (n itself where it does not round: above 2^62). */
char *hp_cpu_cache_block_size(size_t n, size_t *out);
/* Whether the cache is enabled, the bytes it holds idle and its allocation
 * hits and misses. */
char *hp_cpu_cache_stats(int *enabled, size_t *cached, size_t *hits, size_t *misses);

/* ---- tensors ----
 * dtype values are c10::ScalarType codes. device strings are torch::Device
 * syntax: "cpu", "cuda", "cuda:N". */
char *hp_tensor_from_data(const void *data, size_t nbytes, int dtype,
                          const int64_t *shape, int ndim, hp_tensor *out);
void hp_tensor_free(hp_tensor t);
char *hp_tensor_ndim(hp_tensor t, int *out);
char *hp_tensor_shape(hp_tensor t, int64_t *out); /* out has room for ndim */
char *hp_tensor_dtype(hp_tensor t, int *out);
char *hp_tensor_device(hp_tensor t, int *type, int *index); /* type: 0 cpu, 1 cuda, other: c10 code */
char *hp_tensor_nbytes(hp_tensor t, size_t *out);
/* Copies the elements, in row-major order, into dst (nbytes must match). */
char *hp_tensor_copy_to(hp_tensor t, void *dst, size_t nbytes);
char *hp_tensor_to(hp_tensor t, const char *device, int dtype, hp_tensor *out); /* dtype -1: keep */
char *hp_tensor_contiguous(hp_tensor t, hp_tensor *out);

/* ---- IValues ---- */
char *hp_ivalue_from_tensor(hp_tensor t, hp_ivalue *out);
char *hp_ivalue_from_int(int64_t v, hp_ivalue *out);
char *hp_ivalue_from_double(double v, hp_ivalue *out);
char *hp_ivalue_from_bool(int v, hp_ivalue *out);
char *hp_ivalue_from_string(const char *s, hp_ivalue *out);
char *hp_ivalue_none(hp_ivalue *out);
char *hp_ivalue_tuple(const hp_ivalue *elems, int n, hp_ivalue *out);
void hp_ivalue_free(hp_ivalue v);
char *hp_ivalue_kind(hp_ivalue v, int *out);
char *hp_ivalue_type_name(hp_ivalue v, char **out);
char *hp_ivalue_to_tensor(hp_ivalue v, hp_tensor *out);
char *hp_ivalue_to_int(hp_ivalue v, int64_t *out);
char *hp_ivalue_to_double(hp_ivalue v, double *out);
char *hp_ivalue_to_bool(hp_ivalue v, int *out);
char *hp_ivalue_to_string(hp_ivalue v, char **out);
/* Tuples, lists and dicts: number of elements, and element i (dicts: key and value). */
char *hp_ivalue_len(hp_ivalue v, int64_t *out);
char *hp_ivalue_elem(hp_ivalue v, int64_t i, hp_ivalue *out);
char *hp_ivalue_dict_item(hp_ivalue v, int64_t i, hp_ivalue *key, hp_ivalue *value);

/* ---- TorchScript modules ---- */
char *hp_module_load(const char *path, const char *device, hp_module *out);
void hp_module_free(hp_module m);
/* Runs forward under c10::InferenceMode; *compute_ns is the time libtorch's
 * forward took (what the call adds around it is the binding's overhead) and
 * *num_threads the intra-op threads it ran with. */
char *hp_module_forward(hp_module m, const hp_ivalue *inputs, int n, hp_ivalue *out, int64_t *compute_ns,
                        int *num_threads);

/* The same, on the shim's forward thread (one per device): the call queues
 * the job and returns at once; when the forward pass has finished, *job holds
 * its output or error and 1 is added to the eventfd notify_fd. The caller
 * must keep m alive until then, and releases the job with
 * hp_forward_job_free. The inputs are copied (tensors by reference). */
typedef struct hp_forward_job_s *hp_forward_job;
char *hp_module_forward_async(hp_module m, const hp_ivalue *inputs, int n, int notify_fd, hp_forward_job *job);
/* After notification: the output (owned by the caller from now on) or the
 * error message, the time libtorch's forward took and the intra-op threads
 * it ran with. */
char *hp_forward_job_result(hp_forward_job job, hp_ivalue *out, int64_t *compute_ns, int *num_threads);
/* Asks a queued or running job to stop: a native model's pass ends with an
 * error before its next layer (a TorchScript pass runs to its end). */
void hp_forward_job_cancel(hp_forward_job job);
void hp_forward_job_free(hp_forward_job job);
char *hp_module_nbytes(hp_module m, size_t *out);
/* Places CPU parameters/buffers as another process placed the same weights:
 * each of the n named tensors is moved (copied into fresh memory, changed in
 * place) so that its data starts at offsets[i] modulo modulus, a power of two
 * up to 4096. *moved counts the tensors copied. An unknown name or an offset
 * that is not a multiple of the element size is an error and moves nothing. */
char *hp_module_align_parameters(hp_module m, const char *const *names, const int *offsets, int n,
                                 int modulus, int *moved);

/* ---- memory-mapped files and native architectures ---- */
/* Maps a whole file read-only. Tensors made over the mapping keep it alive:
 * hp_mapping_free only drops the caller's reference. */
char *hp_mapping_open(const char *path, hp_mapping *out, int64_t *size);
void hp_mapping_free(hp_mapping m);
/* A CPU tensor over bytes offset..offset+nbytes of the mapping, used in
 * place (read-only: nothing may write to it). Bounds and the byte count the
 * shape and dtype need are checked. */
char *hp_mapping_tensor(hp_mapping m, int64_t offset, int64_t nbytes, int dtype, const int64_t *shape, int ndim,
                        hp_tensor *out);
/* Builds a native architecture (native/native.h: "bert-family",
 * "distilbert", ...) from config entries and named weights, as a module that
 * hp_module_forward(_async) runs. Floating-point weights are converted to
 * dtype and moved to device where they differ (else used in place); the
 * caller keeps ownership of its tensor handles. */
char *hp_native_load(const char *arch, const char *const *keys, const char *const *values, int nkv,
                     const char *const *names, const hp_tensor *tensors, int n, const char *device, int dtype,
                     hp_module *out);
/* The native architectures the shim was built with, comma-separated;
 * malloc'd, free with hp_free_error. */
char *hp_native_architectures(char **out);

#ifdef __cplusplus
}
#endif
#endif
