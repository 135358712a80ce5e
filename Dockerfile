# Tenure worker image. Built by docker-compose.yml (service tenure-worker); see docs/deployment.md.
# TypeScript runs through tsx at start-up (no build step); tsx is a runtime dependency in
# package.json, so a production install (--omit=dev) contains everything the worker needs.
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so source edits do not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay root-owned and read-only for the runtime user.
COPY . .

USER node
CMD ["node", "--import", "tsx", "workers/main.ts"]
