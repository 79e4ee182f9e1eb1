// Writes N realistic Sesam entities (about 300 bytes each) as one JSON array.
// Usage: bench_generate N OUTPUT
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: bench_generate N OUTPUT\n");
        return 2;
    }
    const long n = std::atol(argv[1]);
    std::FILE* out = std::fopen(argv[2], "wb");
    if (!out || n < 0) {
        std::fprintf(stderr, "bench_generate: cannot write %s\n", argv[2]);
        return 2;
    }
    static const char* cities[] = {"Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø"};
    static const char* names[] = {"Kari", "Ola", "Ingrid", "Per", "Liv", "Nils", "Sofie", "Jonas"};
    std::fputs("[", out);
    unsigned seed = 12345;
    auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
    for (long i = 0; i < n; ++i) {
        const unsigned r = next();
        const char* name = names[r % 8];
        const char* city = cities[(r >> 8) % 5];
        if (i > 0)
            std::fputs(",\n", out);
        if (r % 50 == 0) {
            std::fprintf(out, "{\"_id\":\"person-%ld\",\"_updated\":%ld,\"_deleted\":true}", i, i);
            continue;
        }
        std::fprintf(out,
                     "{\"_id\":\"person-%ld\",\"_updated\":%ld,\"_deleted\":false,"
                     "\"name\":\"%s Nordmann %u\",\"email\":\"%s.%ld@example.org\","
                     "\"born\":\"~t19%02u-%02u-%02uT%02u:%02u:00Z\",\"salary\":\"~f%u.%02u\","
                     "\"employer\":\"~:hr-org:%u\",\"active\":%s,\"score\":0.%03u,"
                     "\"tags\":[\"customer\",\"%s\"],"
                     "\"address\":{\"street\":\"Storgata %u\",\"city\":\"%s\",\"zip\":\"%04u\"},"
                     "\"note\":\"line one\\nline \\\"two\\\"\"}",
                     i,
                     i,
                     name,
                     r % 1000,
                     name,
                     i,
                     40 + r % 60,
                     1 + (r >> 4) % 12,
                     1 + (r >> 9) % 28,
                     (r >> 3) % 24,
                     (r >> 5) % 60,
                     200000 + r % 800000,
                     r % 100,
                     r % 97,
                     (r & 1) ? "true" : "false",
                     r % 1000,
                     city,
                     1 + r % 200,
                     city,
                     r % 10000);
    }
    std::fputs("]\n", out);
    return std::fclose(out) == 0 ? 0 : 1;
}
