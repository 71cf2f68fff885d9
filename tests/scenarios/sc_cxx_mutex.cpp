// C++ std::mutex AB/BA with lock_guard: std::mutex is a pthread mutex
// underneath, so the cycle is reported like any other.
#include <mutex>
#include <thread>

static std::mutex a, b;

int main()
{
    std::thread t1([] {
        std::lock_guard<std::mutex> ga(a);
        std::lock_guard<std::mutex> gb(b);
    });
    t1.join();
    std::thread t2([] {
        std::lock_guard<std::mutex> gb(b);
        std::lock_guard<std::mutex> ga(a);
    });
    t2.join();
    return 0;
}
