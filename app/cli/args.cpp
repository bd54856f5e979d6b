// precis-cli argument parsing and help pages (see args.h). Tested by tests/cli/test_cli.cpp.
#include "app/cli/args.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace precis::cli {

namespace {

const OptionSpec* findOption(const CommandSpec& spec, const std::string& name) {
  for (const OptionSpec& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

std::optional<ParsedArgs> parseArgs(const CommandSpec& spec, const std::vector<std::string>& args,
                                    std::string& error) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    }
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.'))) {
      std::string name = a, value;
      bool inline_value = false;
      if (const size_t eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      const OptionSpec* o = findOption(spec, name);
      if (!o) {
        error = "unknown option '" + name + "'";
        return std::nullopt;
      }
      if (o->value_name.empty()) {
        if (inline_value) {
          error = "option " + name + " takes no value";
          return std::nullopt;
        }
      } else if (!inline_value) {
        if (i + 1 >= args.size()) {
          error = "option " + name + " needs a value (" + o->value_name + ")";
          return std::nullopt;
        }
        value = args[++i];
      }
      if (out.values.count(name)) {
        error = "option " + name + " given twice";
        return std::nullopt;
      }
      out.values[name] = value;
      continue;
    }
    out.positional.push_back(a);
  }
  if (static_cast<int>(out.positional.size()) < spec.min_positional) {
    error = "missing argument: " + spec.usage;
    return std::nullopt;
  }
  if (static_cast<int>(out.positional.size()) > spec.max_positional) {
    error = "unexpected argument '" + out.positional[spec.max_positional] + "'";
    return std::nullopt;
  }
  return out;
}

std::string helpText(const CommandSpec& spec) {
  std::ostringstream s;
  s << "Usage: precis-cli " << spec.name << " " << spec.usage << "\n\n" << spec.summary << "\n";
  if (!spec.description.empty()) s << "\n" << spec.description << "\n";
  s << "\nOptions:\n";
  size_t width = 0;
  for (const OptionSpec& o : spec.options)
    width = std::max(width, o.name.size() + (o.value_name.empty() ? 0 : o.value_name.size() + 1));
  width = std::max<size_t>(width, 6);
  for (const OptionSpec& o : spec.options) {
    std::string head = o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    s << "  " << head << std::string(width - head.size() + 2, ' ') << o.help << "\n";
  }
  s << "  --help" << std::string(width - 6 + 2, ' ') << "show this help\n";
  return s.str();
}

std::optional<long long> parseInteger(const std::string& option, const std::string& text,
                                      long long min, long long max, std::string& error) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    error = option + ": '" + text + "' is not an integer";
    return std::nullopt;
  }
  if (v < min || v > max) {
    error = option + ": " + text + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return std::nullopt;
  }
  return v;
}

std::optional<double> parseNumber(const std::string& option, const std::string& text, double min,
                                  double max, std::string& error) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
    error = option + ": '" + text + "' is not a number";
    return std::nullopt;
  }
  if (v < min || v > max) {
    error = option + ": " + text + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    return std::nullopt;
  }
  return v;
}

}  // namespace precis::cli
