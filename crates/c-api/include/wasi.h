/*
 * WASI preview1 configuration for Weft's C API: what a program run through `weft_linker_define_wasi` sees. Give it
 * to a store with `weft_store_set_wasi` (weft.h). Nothing is granted unless set: no arguments, no environment,
 * empty standard input, discarded output, no directories.
 */
#ifndef WEFT_WASI_H
#define WEFT_WASI_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasi_config_t wasi_config_t;
wasi_config_t *wasi_config_new(void);
void wasi_config_delete(wasi_config_t *config);

/* argv (argv[0] conventionally the program's name), replacing any set before; false if a string is not UTF-8. */
bool wasi_config_set_argv(wasi_config_t *config, size_t argc, const char *const argv[]);
void wasi_config_inherit_argv(wasi_config_t *config);
/* names[i]=values[i], replacing any set before; false if a string is not UTF-8. */
bool wasi_config_set_env(wasi_config_t *config, size_t envc, const char *const names[], const char *const values[]);
void wasi_config_inherit_env(wasi_config_t *config);

/* Standard streams: a file (false if it cannot be opened; output files are created or truncated), bytes, or the
 * host process's own. */
bool wasi_config_set_stdin_file(wasi_config_t *config, const char *path);
/* Takes the bytes (the vector is left empty). */
void wasi_config_set_stdin_bytes(wasi_config_t *config, wasm_byte_vec_t *bytes);
void wasi_config_inherit_stdin(wasi_config_t *config);
bool wasi_config_set_stdout_file(wasi_config_t *config, const char *path);
void wasi_config_inherit_stdout(wasi_config_t *config);
bool wasi_config_set_stderr_file(wasi_config_t *config, const char *path);
void wasi_config_inherit_stderr(wasi_config_t *config);

/* The host directory `host_path` as `guest_path`, read-only or (writable) also for creating, writing, renaming and
 * removing; the program cannot leave it. False if it is not a directory. */
bool wasi_config_preopen_dir(wasi_config_t *config, const char *host_path, const char *guest_path, bool writable);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_WASI_H */
