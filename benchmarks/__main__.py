import runpy
import sys

BENCHMARKS = [
    "benchmarks.network",
    "benchmarks.accrual",
    "benchmarks.order_flow",
    "benchmarks.storefront",
    "benchmarks.mixed",
    "benchmarks.flash_sale",
    "benchmarks.dashboard",
]

if __name__ == "__main__":
    for number, module in enumerate(BENCHMARKS, start=1):
        print(f"[{number}/{len(BENCHMARKS)}] {module}", flush=True)
        sys.argv = [module]
        runpy.run_module(module, run_name="__main__")
