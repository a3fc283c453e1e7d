// kdnas: the command-line client of a kdnas controller.
#include <cstdio>
#include <string>

namespace {

const char kUsage[] =
    "kdnas COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  version   Print the client version.\n"
    "\n"
    "Run 'kdnas COMMAND --help' for the flags of a command.";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    std::printf("%s\n", kUsage);
    return argc < 2 ? 2 : 0;
  }
  std::string command = argv[1];
  if (command == "version") {
    std::printf("kdnas 0.1.0 (API kdnas.v1)\n");
    return 0;
  }
  std::fprintf(stderr, "kdnas: unknown command '%s'\n%s\n", command.c_str(), kUsage);
  return 2;
}
