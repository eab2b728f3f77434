"""The ONNX Runtime side: sessions and providers, parity comparison, benchmarking,
dead-unit inspection. No torch here."""
