// Vite's `?raw` suffix imports a file's text (test/unit/api-doc.test.ts reads docs/API.md this way).
declare module "*.md?raw" {
	const text: string;
	export default text;
}
