/* Records which pages of a range of the `cachet` executable's read-only data a run reads, for
 * host/link-order/update.sh (not part of any build).
 *
 * Loaded with LD_PRELOAD: before the program starts, it makes the range given in TOUCHED_FROM and
 * TOUCHED_TO (offsets in the executable, hexadecimal) unreadable; each first read of a page there
 * then faults, and the handler writes the page's offset (hexadecimal, one a line) to the file
 * TOUCHED_OUT and makes the page readable again. It runs natively, so it sees the paths that
 * depend on the machine's CPU features, which valgrind's virtual CPU lacks.
 *
 * The kernel's own reads of the range (a system call given a pointer into it) do not fault: they
 * fail with EFAULT instead, which the program sees as an error. update.sh therefore leaves
 * unprotected what the program reads first (its own crate's data and the merged constants) and
 * checks the run's log for errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL

static unsigned long base, from, to;
static int out = -1;

/* Writes `offset` in hexadecimal and a newline, with nothing but write(2) (async-signal-safe). */
static void record(unsigned long offset) {
  char digits[24], line[24];
  int n = 0, length = 0;
  do {
    digits[n++] = "0123456789abcdef"[offset & 15];
    offset >>= 4;
  } while (offset);
  while (n) line[length++] = digits[--n];
  line[length++] = '\n';
  (void)!write(out, line, length);
}

static void on_fault(int signal_number, siginfo_t *info, void *context) {
  (void)context;
  unsigned long address = (unsigned long)info->si_addr;
  if (address >= from && address < to) {
    record(address - base);
    mprotect((void *)(address & ~(PAGE - 1)), PAGE, PROT_READ);
    return;
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

/* Where the executable is mapped: the start of its mapping at file offset 0. */
static unsigned long executable_base(void) {
  char executable[4096], line[8192], path[4096];
  ssize_t n = readlink("/proc/self/exe", executable, sizeof executable - 1);
  if (n < 0) return 0;
  executable[n] = 0;
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps) return 0;
  unsigned long found = 0, start, end, offset;
  char permissions[8];
  while (!found && fgets(line, sizeof line, maps)) {
    path[0] = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, permissions, &offset, path) >= 4 && offset == 0 &&
        strcmp(path, executable) == 0)
      found = start;
  }
  fclose(maps);
  return found;
}

__attribute__((constructor)) static void protect(void) {
  const char *first = getenv("TOUCHED_FROM"), *last = getenv("TOUCHED_TO"), *file = getenv("TOUCHED_OUT");
  if (!first || !last || !file) return;
  unsetenv("LD_PRELOAD");
  base = executable_base();
  out = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!base || out < 0) return;
  from = (base + strtoul(first, 0, 16) + PAGE - 1) & ~(PAGE - 1);
  to = (base + strtoul(last, 0, 16)) & ~(PAGE - 1);
  if (to <= from) return;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, 0);
  mprotect((void *)from, to - from, PROT_NONE);
}
