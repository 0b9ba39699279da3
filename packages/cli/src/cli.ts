#!/usr/bin/env node
import { CommanderError } from "commander";
import { EXIT, Output } from "./output.js";
import { buildProgram } from "./program.js";

const program = buildProgram();
try {
	await program.parseAsync(process.argv);
} catch (error) {
	if (error instanceof CommanderError) {
		// commander has printed the help or the usage error already
		process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
	} else {
		process.exitCode = new Output(Boolean(program.opts().json)).error(error);
	}
}
