/*
 * fuzz.h - the libFuzzer entry point every fuzz target defines. The same
 * target links either with libFuzzer (make fuzz) or with replay.c, a plain
 * main() that runs the corpus through it in make check.
 */
#ifndef KW_FUZZ_H
#define KW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* KW_FUZZ_H */
