import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The server serves dist/ at "/" and caches /assets/* forever, so asset names carry a content hash.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: { "/api": process.env.BATON_URL ?? "http://127.0.0.1:8080" },
  },
});
