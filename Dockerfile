# One image for the three apps: api (npm start), projector and relay; docker-compose picks the command.
# They run compiled (dist/, built by `npm run build`); the image has no TypeScript loader (tsx is a dev dependency).
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY infra/sqlite/check-native.mjs infra/sqlite/check-native.mjs
# --ignore-scripts: "prepare" (the build) needs the sources, copied below; the install scripts that matter
# (better-sqlite3's native addon, esbuild's binary) run through npm rebuild, then the addon is checked
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 esbuild && node infra/sqlite/check-native.mjs
COPY tsconfig.json ./
COPY domain domain
COPY projections projections
COPY application application
COPY infra infra
COPY apps apps
RUN npm run build
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
# node itself is PID 1 (no npm, no shell in between): SIGTERM from `docker stop` reaches the server
CMD ["node", "--max-old-space-size=192", "--max-semi-space-size=8", "dist/main.js"]
