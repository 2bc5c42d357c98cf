// The app's routes: sign-in, and every registered page inside the layout.
import type { RouteObject } from 'react-router';
import { SignInPage } from '../auth/SignInPage';
import { PAGE_ROUTES } from '../pages/registry';
import { Layout, NotFoundPage } from './Layout';

export function appRoutes(): RouteObject[] {
  return [
    { path: '/sign-in', element: <SignInPage /> },
    {
      path: '/',
      element: <Layout />,
      children: [
        ...PAGE_ROUTES.map(
          ({ path, Page }): RouteObject =>
            path === '' ? { index: true, element: <Page /> } : { path, element: <Page /> },
        ),
        { path: '*', element: <NotFoundPage /> },
      ],
    },
  ];
}
