// C++ locking, each mode run on its own:
//   scoped     two threads, std::scoped_lock(a, b) and std::scoped_lock(b, a),
//              concurrently: try-and-back-off, never a deadlock: nothing.
//   stdlock    the same with std::lock: nothing.
//   recursive  std::recursive_mutex relocked, another mutex under it: nothing.
//   shared_ok  std::shared_lock on a shared_mutex then a mutex, and the mutex
//              then a shared_lock: readers never wait for readers: nothing.
//   shared_bad unique_lock (writer) then the mutex; the mutex then a
//              shared_lock: a cycle.
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <thread>

static std::mutex a, b, m;
static std::recursive_mutex rec;
static std::shared_mutex sm;

template <class F> static void both(F f1, F f2)
{
    std::thread t1([&] {
        for (int i = 0; i < 20000; i++)
            f1();
    });
    std::thread t2([&] {
        for (int i = 0; i < 20000; i++)
            f2();
    });
    t1.join();
    t2.join();
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "scoped")) {
        both(+[] { std::scoped_lock l(a, b); }, +[] { std::scoped_lock l(b, a); });
    } else if (!strcmp(mode, "stdlock")) {
        both(+[] {
                 std::lock(a, b);
                 a.unlock();
                 b.unlock();
             },
             +[] {
                 std::lock(b, a);
                 a.unlock();
                 b.unlock();
             });
    } else if (!strcmp(mode, "recursive")) {
        for (int i = 0; i < 3; i++) {
            std::lock_guard<std::recursive_mutex> g1(rec);
            std::lock_guard<std::recursive_mutex> g2(rec);
            std::lock_guard<std::mutex> g3(m);
        }
    } else if (!strcmp(mode, "shared_ok") || !strcmp(mode, "shared_bad")) {
        bool bad = !strcmp(mode, "shared_bad");
        std::thread t1([bad] {
            if (bad) {
                std::unique_lock<std::shared_mutex> w(sm);
                std::lock_guard<std::mutex> g(m);
            } else {
                std::shared_lock<std::shared_mutex> r(sm);
                std::lock_guard<std::mutex> g(m);
            }
        });
        t1.join();
        std::thread t2([] {
            std::lock_guard<std::mutex> g(m);
            std::shared_lock<std::shared_mutex> r(sm);
        });
        t2.join();
    } else {
        return 3;
    }
    return 0;
}
