import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'happy-dom',
    environmentOptions: { happyDOM: { url: 'https://shop.example.com/products?id=42' } },
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
  },
});
