// SPDX-License-Identifier: Apache-2.0
//
// Turns a callback-style asynchronous operation into an awaitable for shyped's coroutines:
// `start` receives a completion callback and must call it exactly once, on the io_context.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace shype::daemon {

template <class T>
boost::asio::awaitable<T> AwaitCallback(std::function<void(std::function<void(T)>)> start) {
  co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(T)>(
      [start = std::move(start)](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start([shared](T value) { (*shared)(std::move(value)); });
      },
      boost::asio::use_awaitable);
}

}  // namespace shype::daemon
