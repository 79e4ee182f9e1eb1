// Splits a JSON array of entities into batch files of N entities (JSON arrays), and writes a
// curl config that POSTs them all on one connection: the curl baseline of the push benchmark.
// Usage: bench_split_batches INPUT N OUTDIR URL
#include "emulator/json_stream/entity_stream_parser.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: bench_split_batches INPUT N OUTDIR URL\n");
        return 2;
    }
    const std::string outdir = argv[3];
    const std::size_t per_batch = std::strtoul(argv[2], nullptr, 10);
    std::ifstream in(argv[1], std::ios::binary);
    std::ofstream config(outdir + "/curl.config");
    std::ofstream batch;
    std::size_t in_batch = 0;
    std::size_t batches = 0;
    auto close_batch = [&] {
        if (in_batch == 0)
            return;
        batch << "]";
        batch.close();
        in_batch = 0;
    };
    sesam::emulator::EntityStreamParser parser([&](const sesam::emulator::EntityView& e) {
        if (in_batch == 0) {
            const auto name = outdir + "/batch-" + std::to_string(batches++) + ".json";
            batch.open(name, std::ios::binary);
            batch << "[";
            // `next` separates requests; one after the last would start an empty request.
            config << (batches > 1 ? "next\n" : "") << "url = \"" << argv[4]
                   << "\"\ndata-binary = \"@" << name
                   << "\"\nheader = \"Content-Type: application/json\"\noutput = \"/dev/null\"\n";
        } else {
            batch << ",";
        }
        batch << e.bytes;
        if (++in_batch == per_batch)
            close_batch();
    });
    std::string chunk(1 << 20, '\0');
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
        if (auto error = parser.feed(
                std::string_view(chunk.data(), static_cast<std::size_t>(in.gcount())))) {
            std::fprintf(stderr, "bench_split_batches: %s\n", error->message.c_str());
            return 1;
        }
    }
    close_batch();
    std::printf("%zu\n", batches);
    return 0;
}
