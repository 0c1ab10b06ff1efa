"""Local fakes of the providers outside our walls (Alipay, WeChat Pay, WeChat sign-in).

Each is an HTTP server on loopback that implements the provider's documented
requests, answers, signatures and encryption, so our real client code, on the
provider's own SDK, talks to it through a base URL setting.
"""
