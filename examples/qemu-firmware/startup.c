/* Reset and interrupt vectors, memory set-up and the board's drivers (mps2-an385 in QEMU). */
#include <string.h>

#include "board.h"

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
int main(void);

/* ---- CMSDK APB UART0 (QEMU: -serial) ---------------------------------------------------- */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t*)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t*)(UART0_BASE + 0x04)) /* bit0 TX full, bit1 RX full */
#define UART_CTRL (*(volatile uint32_t*)(UART0_BASE + 0x08))  /* bit0 TX on, bit1 RX on */
#define UART_BAUDDIV (*(volatile uint32_t*)(UART0_BASE + 0x10))

void uart_write(const char* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint8_t)bytes[i];
  }
}

int uart_read_byte(void) {
  if (!(UART_STATE & 2u)) return -1;
  return (int)(UART_DATA & 0xffu);
}

/* ---- SysTick: a millisecond counter (25 MHz system clock) -------------------------------- */
#define SYST_CSR (*(volatile uint32_t*)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t*)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t*)0xE000E018u)

static volatile uint32_t millis;

static void systick_handler(void) {
  ++millis;
}

uint32_t board_millis(void) {
  return millis;
}

/* ---- Semihosting (BKPT 0xAB) -------------------------------------------------------------- */
static int semihost(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

int host_cmdline(char* buf, int size) {
  struct {
    char* buf;
    int size;
  } block = {buf, size};
  return semihost(0x15 /* SYS_GET_CMDLINE */, &block) == 0 ? block.size : -1;
}

void host_print(const char* text) {
  semihost(0x04 /* SYS_WRITE0 */, (void*)text);
}

void host_exit(int success) {
  /* ADP_Stopped_ApplicationExit: QEMU exits 0; ADP_Stopped_RunTimeErrorUnknown: exits 1. */
  semihost(0x18 /* SYS_EXIT */, (void*)(uintptr_t)(success ? 0x20026u : 0x20023u));
  for (;;) {
  }
}

/* ---- Reset ---------------------------------------------------------------------------------- */
void reset_handler(void) {
  memcpy(&__data_start, &__data_load, (size_t)((char*)&__data_end - (char*)&__data_start));
  memset(&__bss_start, 0, (size_t)((char*)&__bss_end - (char*)&__bss_start));
  UART_BAUDDIV = 16; /* QEMU's CMSDK UART stays off below 16; the rate itself is not emulated */
  UART_CTRL = 3u;    /* TX and RX on */
  SYST_RVR = 25000u - 1u;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt, enable */
  host_exit(main() == 0);
}

static void hang(void) {
  host_print("quecsim-fw: FAIL fault exception\n");
  host_exit(0);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack_top),
    reset_handler,
    hang,
    hang,
    hang,
    hang,
    0,
    0,
    0,
    0,
    0,
    hang,
    hang,
    0,
    hang,
    systick_handler};
