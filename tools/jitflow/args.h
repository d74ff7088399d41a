// A small declarative command-line parser for the jitflow subcommands.
//   ArgParser p("jitflow run", "Generate text");
//   p.add("-m", "--model", &model_path, "GGUF file");
//   JF_RETURN_IF_ERROR(p.parse(argc, argv));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitflow/options.h"
#include "jitflow/status.h"

namespace jf::cli {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  // Options that take a value. `short_name` may be "" when there is none.
  void add(const char* short_name, const char* long_name, std::string* out, const char* help);
  void add(const char* short_name, const char* long_name, int* out, const char* help);
  void add(const char* short_name, const char* long_name, int64_t* out, const char* help);
  void add(const char* short_name, const char* long_name, float* out, const char* help);
  void add(const char* short_name, const char* long_name, double* out, const char* help);
  // A switch without a value.
  void add_flag(const char* short_name, const char* long_name, bool* out, const char* help);
  // Accept positional arguments (e.g. `jitflow info FILE`).
  void allow_positional(const char* name, std::vector<std::string>* out);

  // Parses argv[0..argc) (the arguments after the subcommand). "-h"/"--help" sets help_requested().
  Status parse(int argc, char** argv);
  bool help_requested() const { return help_requested_; }
  std::string usage() const;

 private:
  enum class Kind { kString, kInt, kInt64, kFloat, kDouble, kFlag };
  struct Option {
    std::string short_name, long_name, help;
    Kind kind;
    void* out;
  };
  void add_option(const char* s, const char* l, Kind kind, void* out, const char* help);
  Status assign(const Option& option, const std::string& value);

  std::string command_, summary_;
  std::vector<Option> options_;
  const char* positional_name_ = nullptr;
  std::vector<std::string>* positional_ = nullptr;
  bool help_requested_ = false;
};

// Parses a command's arguments: on an error prints it (exit code 2), on -h/--help prints the usage
// (exit code 0); returns that exit code, or nullopt when the command goes on.
std::optional<int> parse_command(ArgParser& parser, int argc, char** argv);

// Parses "64,512" into {64, 512}.
Result<std::vector<int>> parse_int_list(const std::string& text);
// Parses "0.5,0.7" into {0.5f, 0.7f}.
Result<std::vector<float>> parse_float_list(const std::string& text);
// "topk" or "threshold" (--sparsity-mode).
Result<SparsityMode> parse_sparsity_mode(const std::string& text);

}  // namespace jf::cli
