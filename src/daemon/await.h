// SPDX-License-Identifier: Apache-2.0
//
// Turns a callback-style asynchronous operation into an awaitable for shyped's coroutines:
// `start` receives a completion callback and must call it exactly once, on the io_context.
// The coroutine waits on a timer that the callback cancels, so it never resumes inside the
// callback's caller. (g++ 12 destroys closures passed by value into coroutines twice — also
// inside Boost.Asio's async_initiate — hence a reference parameter: the caller's temporary
// lives until the end of the full `co_await AwaitCallback(...)` expression.)
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace shype::daemon {

template <class T, class Start>
boost::asio::awaitable<T> AwaitCallback(const Start& start) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto timer = std::make_shared<boost::asio::steady_timer>(
      executor, boost::asio::steady_timer::time_point::max());
  auto result = std::make_shared<std::optional<T>>();
  start(std::function<void(T)>([timer, result](T value) {
    *result = std::move(value);
    timer->cancel();
  }));
  while (!result->has_value()) {
    boost::system::error_code ec;
    co_await timer->async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return std::move(**result);
}

}  // namespace shype::daemon
