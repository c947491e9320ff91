import ArgumentParser
import Foundation
import MuleMesh
import MuleNode
import MuleWeb
import MuleWire

/// The options of the local web app (`mule run --ui`, `mule ui`).
struct UIOptions: ParsableArguments {
    @Flag(help: "Serve the web app on 127.0.0.1:4780 (see --ui-listen); prints a link to sign in.") var ui = false
    @Option(name: .customLong("ui-listen"), help: "Where the web app listens, HOST:PORT (default 127.0.0.1:4780).")
    var uiListen: String?
    @Flag(
        name: .customLong("ui-allow-remote"),
        help:
            "Let the web app listen on an address other than loopback (anyone who reaches it and steals the cookie reads your messages)."
    )
    var allowRemote = false

    func validate() throws {
        do { _ = try configuration() } catch { throw ValidationError(error.description) }
    }

    func configuration() throws(NodeError) -> WebConfiguration {
        var c = WebConfiguration()
        if let uiListen {
            guard let a = HostPort(parsing: uiListen, defaultHost: "127.0.0.1") else {
                throw .invalidArgument("--ui-listen wants HOST:PORT, not '\(uiListen)'")
            }
            c.listen = a
        }
        c.allowRemote = allowRemote
        return c
    }

    /// Prints where the web app is and how to sign in.
    static func announce(_ web: WebServer) {
        if !web.configuration.isLoopback {
            Output.error(
                "warning: the web app listens on \(web.configuration.listen), not only on this computer; "
                    + "anyone on the network who gets the link or the cookie can read and send your messages")
        }
        let line = "mule: web app at \(web.loginURL())  (the link signs in once; 'mule ui' prints a new one)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

struct UI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Open the local web app: prints a link to sign in, starting a node if none runs.",
        discussion: """
            With a node running with --ui, prints a new sign-in link for it. With a node running without \
            it, serves the web app from this process until Ctrl-C. With no node running, runs one with the \
            web app, as 'mule run --ui' does.
            """)
    @ParentCommand var root: Mule
    @OptionGroup var options: NodeOptions
    @OptionGroup var ui: UIOptions

    func run() async throws {
        do {
            let home = root.global.resolvedHome
            let profile = try Profile.open(home: home)
            if RunLock.isHeld(profile: profile) {
                if let url = NodeSocket.ask(profile: profile, "ui-url"), url.hasPrefix("http") {
                    print(url)
                    return
                }
                // The node runs without the web app: serve it from here, on the same store.
                let node = try root.global.openNode()
                let web: WebServer
                do {
                    web = try await WebServer.start(
                        context: .attached(node: node), configuration: try ui.configuration(),
                        auth: try WebAuth(profile: profile), logger: root.global.logger())
                } catch let e as WebServer.StartError {
                    throw NodeError.invalidArgument(e.description)
                }
                UIOptions.announce(web)
                await Signals.wait()
                await web.stop()
                return
            }
            let running = try await RunningNode.start(
                home: home, options: options, ui: ui, logger: root.global.logger(level: .notice), quiet: false)
            await Signals.wait()
            await running.stop()
            FileHandle.standardError.write(Data("mule: stopped\n".utf8))
        } catch let e as NodeError {
            Output.error(e.description)
            throw ExitCode(1)
        }
    }
}
