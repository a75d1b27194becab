/* The few pieces of QEMU's mps2-an385 board the example firmware uses: the CMSDK UART the
   module is wired to, a millisecond clock, and ARM semihosting to report and exit. */
#ifndef QUECSIM_EXAMPLE_BOARD_H
#define QUECSIM_EXAMPLE_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since reset (SysTick). */
uint32_t board_millis(void);

/* UART0, wired to the module: write bytes; read one byte if there is one (-1 otherwise). */
void uart_write(const char* bytes, size_t n);
int uart_read_byte(void);

/* Semihosting: the command line QEMU was given (-semihosting-config ...,arg=...), a line on
   the host's stdout, and the end of the run (QEMU exits 0 for success, 1 otherwise). */
int host_cmdline(char* buf, int size);
void host_print(const char* text);
void host_exit(int success) __attribute__((noreturn));

#endif
