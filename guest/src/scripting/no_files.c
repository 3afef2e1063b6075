/*
 * Lua's io, os and package libraries and the C library calls its other parts make for files and
 * the console. Scripts in cachet have none of those libraries, no loadfile and no print, so
 * nothing calls these; but Lua's objects name them, and wasi-libc's versions would bring WASI's
 * filesystem and clock imports into the engine. Defined here, they answer "no file" without the
 * host, and the libraries that would open files are never linked.
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct lua_State;

/* The console: wasi-libc's stdin, stdout and stderr stay (its printf family needs their
 * objects), but what they read and write with is this, which reaches nothing. */
size_t __stdio_read(FILE *f, unsigned char *buf, size_t len) { (void)f; (void)buf; (void)len; return 0; }
size_t __stdio_write(FILE *f, const unsigned char *buf, size_t len) { (void)f; (void)buf; return len; }
size_t __stdout_write(FILE *f, const unsigned char *buf, size_t len) { (void)f; (void)buf; return len; }
off_t __stdio_seek(FILE *f, off_t offset, int whence) { (void)f; (void)offset; (void)whence; return -1; }
int __stdio_close(FILE *f) { (void)f; return 0; }

int luaopen_io(struct lua_State *L) { (void)L; return 0; }
int luaopen_os(struct lua_State *L) { (void)L; return 0; }
int luaopen_package(struct lua_State *L) { (void)L; return 0; }

FILE *fopen(const char *path, const char *mode) { (void)path; (void)mode; return NULL; }
FILE *freopen(const char *path, const char *mode, FILE *f) { (void)path; (void)mode; (void)f; return NULL; }
int fclose(FILE *f) { (void)f; return EOF; }
size_t fread(void *p, size_t size, size_t n, FILE *f) { (void)p; (void)size; (void)n; (void)f; return 0; }
char *fgets(char *s, int n, FILE *f) { (void)s; (void)n; (void)f; return NULL; }
int fputs(const char *s, FILE *f) { (void)s; (void)f; return 0; }
int fputc(int c, FILE *f) { (void)f; return c; }
int getc(FILE *f) { (void)f; return EOF; }
int ungetc(int c, FILE *f) { (void)c; (void)f; return EOF; }
int feof(FILE *f) { (void)f; return 1; }
int ferror(FILE *f) { (void)f; return 1; }
int fprintf(FILE *f, const char *format, ...) { (void)f; (void)format; return 0; }

/* Lua calls exit only after its panic function returns, which mlua's never does; wasi-libc's would
 * flush stdio through WASI's filesystem streams. */
_Noreturn void exit(int code) { (void)code; __builtin_trap(); }
