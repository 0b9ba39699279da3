// The ports `npm start` serves on: Sundial on $SUNDIAL_PORT (default 8787), the outbox example on
// $SUNDIAL_EXAMPLE_PORT (default 8788), both on 127.0.0.1. Checked free before anything starts, so
// another server on the port is never taken for Sundial.
import { createServer } from "node:net";

function portFrom(name, fallback) {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const port = Number(raw);
	if (!Number.isInteger(port) || port < 1 || port > 65535) {
		console.error(`sundial: ${name}=${raw} is not a port (1–65535)`);
		process.exit(2);
	}
	return port;
}

export const sundialPort = portFrom("SUNDIAL_PORT", 8787);
export const examplePort = portFrom("SUNDIAL_EXAMPLE_PORT", 8788);
if (sundialPort === examplePort) {
	console.error(`sundial: SUNDIAL_PORT and SUNDIAL_EXAMPLE_PORT are both ${sundialPort}; give them different ports`);
	process.exit(2);
}

/** Whether 127.0.0.1:`port` can be listened on now. */
function isFree(port) {
	return new Promise((resolve) => {
		const server = createServer();
		server.once("error", () => resolve(false));
		server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
	});
}

/** Exits (status 1) naming the variable to set when a port `npm start` needs is taken. */
export async function requireFreePorts() {
	for (const [port, name] of [
		[sundialPort, "SUNDIAL_PORT"],
		[examplePort, "SUNDIAL_EXAMPLE_PORT"],
	]) {
		if (await isFree(port)) continue;
		console.error(
			`sundial: 127.0.0.1:${port} is in use (another npm start?). Stop it, or pick another port: ${name}=<port> npm start`,
		);
		process.exit(1);
	}
}
