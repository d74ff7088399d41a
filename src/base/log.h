// Logging to stderr. Levels are set once from JITFLOW_LOG (error|warn|info|debug) or set_log_level().
#pragma once

namespace jf {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace jf

#define JF_LOG_ERROR(...) ::jf::log_message(::jf::LogLevel::kError, __VA_ARGS__)
#define JF_LOG_WARN(...) ::jf::log_message(::jf::LogLevel::kWarn, __VA_ARGS__)
#define JF_LOG_INFO(...) ::jf::log_message(::jf::LogLevel::kInfo, __VA_ARGS__)
#define JF_LOG_DEBUG(...) ::jf::log_message(::jf::LogLevel::kDebug, __VA_ARGS__)
