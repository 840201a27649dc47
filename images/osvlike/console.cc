// COM1 output and a small printf (%s %c %d %u %x %p, l and 0-width modifiers).
#include "console.hh"

using namespace processor;

namespace console {

static constexpr u16 port = 0x3f8;

void init() {
    outb(0x00, port + 1);   // no UART interrupts (transmit is polled)
    outb(0x80, port + 3);   // DLAB
    outb(0x01, port + 0);   // 115200 baud
    outb(0x00, port + 1);
    outb(0x03, port + 3);   // 8N1
    outb(0xc7, port + 2);   // FIFO
    outb(0x0b, port + 4);   // DTR RTS OUT2
}

static void putc(char c) {
    while (!(inb(port + 5) & 0x20)) {
        pause();
    }
    outb(u8(c), port);
}

void write(const char* s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            putc('\r');
        }
        putc(s[i]);
    }
}

}

namespace {

spinlock print_lock;

struct buffer {
    char data[512];
    size_t n = 0;
    void put(char c) { if (n < sizeof(data)) data[n++] = c; }
};

void put_num(buffer& b, u64 v, unsigned base, int width, char pad, bool neg) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg) tmp[n++] = '-';
    while (n < width--) b.put(pad);
    while (n) b.put(tmp[--n]);
}

void format(buffer& b, const char* fmt, va_list ap) {
    for (; *fmt; fmt++) {
        if (*fmt != '%') { b.put(*fmt); continue; }
        fmt++;
        char pad = ' ';
        int width = 0;
        bool lng = false;
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') { lng = true; fmt++; }
        switch (*fmt) {
        case 's': {
            const char* s = va_arg(ap, const char*);
            if (!s) s = "(null)";
            int len = 0;
            while (s[len]) len++;
            while (len < width--) b.put(' ');
            while (*s) b.put(*s++);
            break;
        }
        case 'c': b.put(char(va_arg(ap, int))); break;
        case 'd': {
            s64 v = lng ? va_arg(ap, s64) : va_arg(ap, int);
            put_num(b, v < 0 ? -u64(v) : u64(v), 10, width, pad, v < 0);
            break;
        }
        case 'u': put_num(b, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad, false); break;
        case 'x': put_num(b, lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad, false); break;
        case 'p': b.put('0'); b.put('x'); put_num(b, u64(va_arg(ap, void*)), 16, width, pad, false); break;
        case '%': b.put('%'); break;
        default: b.put('%'); b.put(*fmt); break;
        }
    }
}

}

void vkprintf(const char* fmt, va_list ap) {
    buffer b;
    format(b, fmt, ap);
    lock_guard_irq<spinlock> guard(print_lock);
    console::write(b.data, b.n);
}

void kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vkprintf(fmt, ap);
    va_end(ap);
}

void debug_early(const char* s) {
    size_t n = 0;
    while (s[n]) n++;
    console::write(s, n);
}

void debug_early_u64(const char* prefix, u64 v, const char* suffix) {
    char tmp[19] = "0x";
    for (int i = 0; i < 16; i++) tmp[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    tmp[18] = 0;
    debug_early(prefix);
    debug_early(tmp);
    debug_early(suffix);
}
