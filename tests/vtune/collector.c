/* A stand-in for VTune's JIT collector, for the VTune agent's tests (crates/weft/src/profiling/vtune.rs), which
 * build it with `cc -shared -fPIC` and name it in INTEL_JIT_PROFILER64. The ITT JIT API in the process (ittapi's
 * jitprofiling.c) dlopens that library on its first call, looks up `Initialize` and `NotifyEvent`, calls
 * `Initialize` once (what it returns is what iJIT_IsProfilingActive then says) and hands every event to
 * `NotifyEvent`.
 *
 * It appends to the file named by WEFT_TEST_VTUNE_LOG one line per call: `initialize`, and for each method load
 * a tab-separated line
 *
 *     load  ID  ADDRESS(hex)  SIZE  NAME  CLASS  SOURCE  LINES  CODE
 *
 * where CLASS and SOURCE are `-` when absent, LINES is `OFFSET:LINE,…` (the line-number table, `-` when empty)
 * and CODE is the method's machine code in hex, read from the reported address as the event arrives, so that the
 * test can compare it with the code the engine loaded. Other events are logged as `event TYPE`. */
#include <stdio.h>
#include <stdlib.h>

/* From ittapi's jitprofiling.h (the layout VTune's collectors read). */
typedef struct {
    unsigned int offset; /* where the code range of this entry ends, from the method's start */
    unsigned int line;
} line_number_info;

typedef struct {
    unsigned int method_id;
    char *method_name;
    void *method_load_address;
    unsigned int method_size;
    unsigned int line_number_size;
    line_number_info *line_number_table;
    unsigned int class_id;
    char *class_file_name;
    char *source_file_name;
} method_load;

enum { METHOD_LOAD_FINISHED = 13, SAMPLING_ON = 1 };

static FILE *log_file;

static FILE *out(void) {
    if (!log_file) {
        const char *path = getenv("WEFT_TEST_VTUNE_LOG");
        log_file = fopen(path ? path : "/dev/null", "a");
    }
    return log_file;
}

unsigned int Initialize(void) {
    FILE *f = out();
    if (f) {
        fputs("initialize\n", f);
        fflush(f);
    }
    return SAMPLING_ON;
}

unsigned int NotifyEvent(unsigned int type, void *data) {
    FILE *f = out();
    if (!f) {
        return 0;
    }
    if (type != METHOD_LOAD_FINISHED) {
        fprintf(f, "event %u\n", type);
        fflush(f);
        return 1;
    }
    const method_load *m = data;
    fprintf(f, "load\t%u\t%lx\t%u\t%s\t%s\t%s\t", m->method_id, (unsigned long)m->method_load_address, m->method_size,
            m->method_name, m->class_file_name ? m->class_file_name : "-",
            m->source_file_name ? m->source_file_name : "-");
    if (m->line_number_size == 0) {
        fputc('-', f);
    }
    for (unsigned int i = 0; i < m->line_number_size; i++) {
        fprintf(f, "%s%u:%u", i ? "," : "", m->line_number_table[i].offset, m->line_number_table[i].line);
    }
    fputc('\t', f);
    const unsigned char *code = m->method_load_address;
    for (unsigned int i = 0; i < m->method_size; i++) {
        fprintf(f, "%02x", code[i]);
    }
    fputc('\n', f);
    fflush(f);
    return 1;
}
