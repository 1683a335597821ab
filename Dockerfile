# One image for the three apps: api (npm start), projector and relay; docker-compose picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY infra/sqlite/check-native.mjs infra/sqlite/check-native.mjs
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY domain domain
COPY projections projections
COPY application application
COPY infra infra
COPY apps apps
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
CMD ["node", "--max-old-space-size=192", "--import", "tsx", "apps/main.ts"]
