// Loads libtorch's CUDA part when it is there. The package links only
// libtorch_cpu and c10, so a CPU program (and a CPU bundle, see
// cmd/hfpipe-libtorch bundle) needs no CUDA library at all. libtorch_cuda
// registers CUDA with libtorch when it is loaded, and libtorch decides once,
// at its first CUDA question, whether CUDA exists; so it is loaded here, at
// program start, before any libtorch call: from the folder libtorch_cpu was
// loaded from, if it lies there. A libtorch_cuda that is there but fails to
// load (its CUDA libraries missing) leaves CUDA off with one line on stderr.
// HFPIPE_CUDA=0 skips it (CPU only); HFPIPE_CUDA=1 makes a missing or failing
// libtorch_cuda fatal, with the loader's message.
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

namespace {

int find_torch_cpu(struct dl_phdr_info *info, size_t, void *data) {
  const char *name = info->dlpi_name;
  if (name == nullptr) return 0;
  const char *slash = strrchr(name, '/');
  if (slash != nullptr && strcmp(slash + 1, "libtorch_cpu.so") == 0) {
    *static_cast<std::string *>(data) = std::string(name, slash - name);
    return 1;
  }
  return 0;
}

__attribute__((constructor)) void hp_load_cuda() {
  const char *mode = getenv("HFPIPE_CUDA");
  if (mode != nullptr && strcmp(mode, "0") == 0) return;
  const bool required = mode != nullptr && strcmp(mode, "1") == 0;
  std::string dir;
  dl_iterate_phdr(find_torch_cpu, &dir);
  if (dir.empty()) return; // statically linked or renamed: nothing to do
  const std::string path = dir + "/libtorch_cuda.so";
  if (access(path.c_str(), F_OK) != 0) {
    if (required) {
      fprintf(stderr, "hfpipe: HFPIPE_CUDA=1 but %s does not exist (a CPU-only libtorch or bundle)\n", path.c_str());
      exit(2);
    }
    return;
  }
  // RTLD_GLOBAL: libtorch_cuda's operators and hooks join libtorch's.
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    fprintf(stderr, "hfpipe: CUDA %s: loading %s failed: %s (HFPIPE_CUDA=0 runs CPU-only without trying)\n",
            required ? "required (HFPIPE_CUDA=1)" : "disabled", path.c_str(), dlerror());
    if (required) exit(2);
  }
}

} // namespace
