import HTTPTypes
import Hummingbird

/// Every request passes here first:
/// 1. its `Host` must name this server (`127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`, or the
///    address given with `--ui-listen`): a page on another site that resolves its own name to
///    127.0.0.1 (DNS rebinding) is refused;
/// 2. an `Origin` (and `Sec-Fetch-Site`) must be this server's own: requests that another site's
///    page makes are refused;
/// 3. `/login?token=T` exchanges a one-time token for the session cookie; everything else needs
///    that cookie (401 without);
/// 4. anything that changes state (not GET or HEAD) needs the CSRF token in `X-CSRF-Token`.
/// Answers carry a strict Content-Security-Policy: no script, style or frame from anywhere else.
struct WebGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let auth: WebAuth
    let configuration: WebConfiguration
    let port: @Sendable () -> Int

    func allowedHosts() -> Set<String> {
        let p = port()
        // The bare names too: a browser sends them only for port 80, and no other site can make it
        // send them (what DNS rebinding cannot fake is the name).
        var hosts: Set<String> = ["127.0.0.1:\(p)", "localhost:\(p)", "[::1]:\(p)", "127.0.0.1", "localhost", "[::1]"]
        let listen = configuration.listen
        if listen.host != "0.0.0.0" && listen.host != "::" {
            hosts.insert(listen.host.contains(":") ? "[\(listen.host)]:\(p)" : "\(listen.host):\(p)")
        }
        return hosts
    }

    /// What the guard decides for a request.
    enum Decision: Equatable {
        case pass
        case signIn
        case refuse(HTTPResponse.Status, String)
    }

    /// The decision, from the request's head alone.
    func decide(
        method: HTTPRequest.Method, path: String, authority: String?, origin: String?, fetchSite: String?, cookie: String?,
        csrf: String?, token: String?
    ) -> Decision {
        let hosts = allowedHosts()
        guard let authority, hosts.contains(authority.lowercased()) else {
            return .refuse(.forbidden, "this address is not the web app's (Host is not \(hosts.sorted().first ?? ""))")
        }
        if let origin, !hosts.contains(where: { "http://\($0)" == origin.lowercased() }) {
            return .refuse(.forbidden, "a request from another site (Origin \(origin.prefix(80))) is refused")
        }
        if fetchSite == "cross-site" { return .refuse(.forbidden, "a request from another site is refused") }
        if path == "/login" {
            guard let token, auth.consume(token) else {
                return .refuse(.unauthorized, "this login link was used already or has expired; run 'mule ui' for a new one")
            }
            return .signIn
        }
        guard auth.isSession(cookie) else {
            return .refuse(.unauthorized, "open the link that 'mule run --ui' or 'mule ui' printed to sign in")
        }
        if method != .get && method != .head && !auth.isCSRF(csrf) {
            return .refuse(.forbidden, "the CSRF token is missing or wrong; reload the page")
        }
        return .pass
    }

    // `@concurrent`: Hummingbird's requirement is a plain nonisolated async function, and this
    // module makes those run on their caller's actor unless marked so.
    @concurrent
    func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        let decision = decide(
            method: request.method, path: request.uri.path, authority: request.head.authority,
            origin: request.headers[.origin], fetchSite: request.headers[HTTPField.Name("Sec-Fetch-Site")!],
            cookie: request.cookies[WebAuth.cookieName]?.value, csrf: request.headers[HTTPField.Name(WebAuth.csrfHeader)!],
            token: request.uri.queryParameters.get("token"))
        var response: Response
        switch decision {
        case .refuse(let status, let message):
            return refuse(status, message, html: !request.uri.path.hasPrefix("/api/"))
        case .signIn:
            response = Response(status: .seeOther, headers: [.location: "/", .setCookie: auth.sessionCookie])
        case .pass:
            response = try await next(request, context)
        }
        secure(&response)
        return response
    }

    func refuse(_ status: HTTPResponse.Status, _ message: String, html: Bool = false) -> Response {
        var response =
            html
            ? WebPages.page(title: "Mule", body: "<p class=\"error\">\(WebPages.escape(message)).</p>", csrf: "", status: status)
            : WebApp.json(["error": message], status: status)
        secure(&response)
        return response
    }

    func secure(_ response: inout Response) {
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
    }
}
